import { createReadStream } from 'node:fs';
import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance } from 'fastify';
import type { OtaCampaigns } from '../ota/campaigns.js';
import type { DownloadUrls } from '../ota/download-urls.js';
import type { Firmwares } from '../ota/firmwares.js';
import type { JobFilter, SignMethod, TaskStatus } from '../ota/records.js';
import type { Registry } from '../registry/registry.js';
import { connectRoute } from './connect-route.js';
import { ok } from './envelope.js';
import { actionQuery, keySchema } from './schemas.js';

const versionSchema = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._+\\-]+$' } as const;
const idSchema = { type: 'string', minLength: 1, maxLength: 64 } as const;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export interface OtaApi {
  registry: Registry;
  firmwares: Firmwares;
  campaigns: OtaCampaigns;
}

/**
 * Ours, in the Connection Service style: firmware packages and upgrade jobs (docs/PROTOCOL.md
 * "OTA firmware upgrades"). The file travels base64-encoded in the signed JSON body, so the apim
 * signature covers it like any other body.
 */
export async function otaRoutes(app: FastifyInstance, { registry, firmwares, campaigns }: OtaApi): Promise<void> {
  const tags = ['ota'];

  connectRoute(app, {
    method: 'POST',
    resource: 'ota-firmwares',
    action: 'create',
    // base64 is 4/3 of the file, plus room for the other fields.
    bodyLimit: Math.ceil(firmwares.maxBytes / 3) * 4 + 64 * 1024,
    schema: {
      tags,
      summary: 'Upload a firmware package of a product (base64 file); stored with its MD5 and SHA-256',
      querystring: actionQuery('create', { productKey: keySchema }, ['productKey']),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['version', 'file'],
        properties: {
          version: versionSchema,
          file: { type: 'string', minLength: 1 },
          fileName: { type: 'string', minLength: 1, maxLength: 256, pattern: '^[^/\\\\]+$' },
          signMethod: { type: 'string', enum: ['md5', 'sha256'] },
          desc: { type: 'string', maxLength: 1024 },
        },
      },
    },
    handler: async (req) => {
      const { productKey } = req.query as { productKey: string };
      await registry.products.require(req.orgId!, productKey);
      const body = req.body as { version: string; file: string; fileName?: string; signMethod?: SignMethod; desc?: string };
      if (body.file.length % 4 !== 0 || !BASE64.test(body.file))
        throw new EnosError(codes.invalidArgument, 'Invalid Argument file: must be base64');
      const { file, ...rest } = body;
      const f = await firmwares.upload(req.orgId!, { productKey, ...rest }, Buffer.from(file, 'base64'));
      return ok(req.id, f);
    },
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'ota-firmwares',
    action: 'get',
    schema: { tags, summary: 'A firmware package', querystring: actionQuery('get', { firmwareId: idSchema }, ['firmwareId']) },
    handler: async (req) => ok(req.id, await firmwares.require(req.orgId!, (req.query as { firmwareId: string }).firmwareId)),
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'ota-firmwares',
    action: 'list',
    schema: {
      tags,
      summary: 'Firmware packages, newest first, optionally of one product',
      querystring: actionQuery('list', { productKey: keySchema }),
    },
    handler: async (req) => ok(req.id, (await firmwares.list(req.orgId!, (req.query as { productKey?: string }).productKey)).items),
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'ota-jobs',
    action: 'create',
    schema: {
      tags,
      summary: 'Start an upgrade job: the firmware to the matching devices of its product, at a rollout rate',
      querystring: actionQuery('create'),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['firmwareId'],
        properties: {
          firmwareId: idSchema,
          name: { type: 'string', minLength: 1, maxLength: 256 },
          ratePerMinute: { type: 'integer', minimum: 0, maximum: 100_000 },
          filter: {
            type: 'object',
            additionalProperties: false,
            properties: {
              fromVersions: { type: 'array', maxItems: 100, items: versionSchema },
              tags: {
                type: 'object',
                maxProperties: 20,
                propertyNames: { pattern: '^[A-Za-z0-9_\\-/]{1,50}$' },
                additionalProperties: { type: 'string', maxLength: 200 },
              },
              deviceKeys: { type: 'array', maxItems: 10_000, items: keySchema },
            },
          },
        },
      },
    },
    handler: async (req) => {
      const body = req.body as { firmwareId: string; name?: string; ratePerMinute?: number; filter?: JobFilter };
      const r = await campaigns.createJob(req.orgId!, body);
      return ok(req.id, { jobId: r.job.jobId, status: r.job.status, targets: r.targets, skipped: r.skipped });
    },
  });

  const jobQuery = (action: string) => actionQuery(action, { jobId: idSchema }, ['jobId']);

  connectRoute(app, {
    method: 'GET',
    resource: 'ota-jobs',
    action: 'get',
    schema: { tags, summary: 'A job with the number of its devices in each task status', querystring: jobQuery('get') },
    handler: async (req) => ok(req.id, await campaigns.jobSummary(req.orgId!, (req.query as { jobId: string }).jobId)),
  });

  connectRoute(app, {
    method: 'GET',
    resource: 'ota-jobs',
    action: 'listTasks',
    schema: {
      tags,
      summary: 'Per-device status of a job: step, failure (−1 upgrade, −2 download, −3 verification, −4 flashing)',
      querystring: actionQuery(
        'listTasks',
        { jobId: idSchema, status: { type: 'string', enum: ['waiting', 'notified', 'upgrading', 'succeeded', 'failed', 'cancelled'] } },
        ['jobId'],
      ),
    },
    handler: async (req) => {
      const q = req.query as { jobId: string; status?: TaskStatus };
      return ok(req.id, await campaigns.tasks(req.orgId!, q.jobId, q.status));
    },
  });

  connectRoute(app, {
    method: 'POST',
    resource: 'ota-jobs',
    action: 'cancel',
    schema: { tags, summary: 'Cancel a job: devices not yet finished are no longer offered the firmware', querystring: jobQuery('cancel') },
    handler: async (req) => ok(req.id, await campaigns.cancel(req.orgId!, (req.query as { jobId: string }).jobId)),
  });
}

/**
 * The firmware download devices follow from `ota.device.upgrade`: no apim token, a signed URL
 * instead; single byte ranges (RFC 9110 §14) so an interrupted download resumes.
 */
export async function otaDownloadRoutes(
  app: FastifyInstance,
  { firmwares, urls }: { firmwares: Firmwares; urls: DownloadUrls },
): Promise<void> {
  app.get('/ota/v1/firmwares/:firmwareId/download', { schema: { hide: true } }, async (req, reply) => {
    const { firmwareId } = req.params as { firmwareId: string };
    const q = req.query as { assetId?: string; expires?: string; signature?: string };
    const refused = urls.check(firmwareId, q.assetId, q.expires, q.signature);
    if (refused) return reply.status(403).send({ code: codes.denied, msg: `Denied resource: ${refused}`, requestId: req.id, data: null });
    const fw = await firmwares.get(firmwareId);
    const file = fw ? await firmwares.file(firmwareId) : undefined;
    if (!fw || !file)
      return reply.status(404).send({ code: codes.notFound, msg: 'Object not found: firmware', requestId: req.id, data: null });
    const size = file.size;
    reply.header('accept-ranges', 'bytes').header('etag', `"${fw.sha256}"`).header('content-type', 'application/octet-stream');
    const range = rangeOf(req.headers.range, size);
    if (range === 'unsatisfiable') return reply.status(416).header('content-range', `bytes */${size}`).send();
    if (range) {
      const [start, end] = range;
      return reply
        .status(206)
        .header('content-range', `bytes ${start}-${end}/${size}`)
        .header('content-length', end - start + 1)
        .send(createReadStream(file.path, { start, end }));
    }
    return reply.header('content-length', size).send(createReadStream(file.path));
  });
}

/** One `bytes=` range; undefined (serve it all) for none, several, or another unit. */
export function rangeOf(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return [start, end];
}
