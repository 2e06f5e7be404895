import type { FastifyInstance } from 'fastify';
import plist from 'plist';
import type { AppPublisher } from '../../device-management/apps/publisher.js';
import { iosManifest } from '../../device-management/apps/operations.js';

const params = { type: 'object', properties: { uuid: { type: 'string', pattern: '^[0-9a-f]{32}$' } } } as const;
const query = {
  type: 'object',
  properties: {
    device: { type: 'string', maxLength: 64 },
    expires: { type: 'string', maxLength: 16 },
    signature: { type: 'string', maxLength: 64 },
  },
} as const;

/**
 * What devices fetch to install an enterprise app (docs/DEVICE-MANAGEMENT.md, "Applications:
 * artifacts"): the uploaded file and the iOS manifest, with a signed URL instead of a token, from
 * any node. A retired release is no longer served.
 */
export async function appDownloadRoutes(
  app: FastifyInstance,
  { publisher, publicBaseUrl }: { publisher: AppPublisher; publicBaseUrl: () => string },
): Promise<void> {
  const refuse = (status: number, message: string) => ({ status, body: { code: status, message } });
  const lookup = async (
    what: 'artifact' | 'manifest.plist',
    uuid: string,
    q: { device?: string; expires?: string; signature?: string },
  ) => {
    const why = publisher.artifacts.check(what, uuid, q);
    if (why) return refuse(403, why);
    const r = await publisher.releaseById(uuid);
    if (!r || r.state === 'RETIRED') return refuse(404, 'release not found');
    return { release: r };
  };

  app.get('/apps/v1/releases/:uuid/artifact', { schema: { hide: true, params, querystring: query } }, async (req, reply) => {
    const { uuid } = req.params as { uuid: string };
    const found = await lookup('artifact', uuid, req.query as Record<string, string>);
    if (!('release' in found)) return reply.status(found.status).send(found.body);
    const file = found.release.artifact?.kind === 'uploaded' ? await publisher.artifacts.file(uuid) : undefined;
    if (!file) return reply.status(404).send({ code: 404, message: 'the release has no uploaded artifact' });
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', file.size)
      .header('content-disposition', `attachment; filename="${found.release.artifact!.fileName ?? uuid}"`)
      .send(file.stream);
  });

  app.get('/apps/v1/releases/:uuid/manifest.plist', { schema: { hide: true, params, querystring: query } }, async (req, reply) => {
    const { uuid } = req.params as { uuid: string };
    const q = req.query as { device?: string };
    const found = await lookup('manifest.plist', uuid, req.query as Record<string, string>);
    if (!('release' in found)) return reply.status(found.status).send(found.body);
    const r = found.release;
    if (r.platform !== 'ios' || !r.artifact) return reply.status(404).send({ code: 404, message: 'no manifest for this release' });
    const appRecord = await publisher.get(r.orgId, r.appId);
    const artifactUrl =
      r.artifact.kind === 'url' ? r.artifact.url! : publicBaseUrl() + publisher.artifacts.pathFor('artifact', uuid, q.device!);
    return reply.header('content-type', 'application/xml').send(plist.build(iosManifest(appRecord, r, artifactUrl)));
  });
}
