import { EnosError, codes } from '@edgehub/shared';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {
  CertificateOperations,
  CertificateService,
  CrlName,
  IssuedCertificate,
  IssueAuthority,
  IssueResult,
  RevocationReason,
} from '@edgehub/certificate-service';
import { publicCaRoutes } from '@edgehub/certificate-service';
import { boundElsewhere, certificateCall } from '../certificates/errors.js';
import { dueForRenewal } from '../certificates/rotation.js';
import type { DeviceRecord, ProductRecord } from '../registry/records.js';
import type { Registry } from '../registry/registry.js';
import { connectRoute } from './connect-route.js';
import { deviceRefOf } from './device-ref.js';
import { envelopeSchema, ok, paginationResponseSchema } from './envelope.js';
import { MAX_PAGE_SIZE } from './paging.js';
import { actionQuery, deviceRefQuery } from './schemas.js';

export interface CertificateRoutesOptions {
  registry: Registry;
  certs: CertificateOperations;
  /** The hub's public base URL (a function for an ephemeral port): certChainURL points below it. */
  publicBaseUrl: string | (() => string);
}

/** Far above any real CSR (the service refuses PEM over 16 KB with 99400), far below the hub's default. */
const BODY_LIMIT = 64 * 1024;
/** §6 revocation reasons. */
const REASONS: readonly number[] = [0, 1, 3, 4, 5, 6, 9];

const digits = (max: number) => ({ type: 'string', pattern: `^[0-9]{1,${max}}$` });
/** EnOS sends certSn as an int (§7.3 renew/revoke "M, int"); certSN, as list returns it, is a decimal string. */
const certSnSchema = {
  anyOf: [
    { type: 'integer', minimum: 1 },
    { type: 'string', pattern: '^[0-9]{1,49}$' },
  ],
};
/** EnOS accepts "RSA" or "ECC" ignoring case. */
const authoritySchema = { type: 'string', pattern: '^([Rr][Ss][Aa]|[Ee][Cc][Cc])$' };

const issuedSchema = {
  type: 'object',
  properties: {
    cert: { type: 'string' },
    caCert: { type: 'string' },
    certChainURL: { type: 'string' },
    certSN: { type: 'string' },
    issueAuthority: { type: 'string' },
  },
};

const listItemSchema = {
  type: 'object',
  properties: {
    certSN: { type: 'string' },
    cert: { type: 'string' },
    certStatus: { type: 'integer' },
    issuer: { type: 'string' },
    subject: { type: 'string' },
    signDate: { type: 'integer' },
    effetiveDate: { type: 'integer' },
    effectiveDate: { type: 'integer' },
    expireDate: { type: 'integer' },
    validDay: { type: 'integer' },
    revoker: { type: 'string' },
    revokerReason: { type: 'string' },
    isEnosCert: { type: 'boolean' },
    issueAuthority: { type: 'string' },
    assetId: { type: 'string' },
    productKey: { type: 'string' },
    deviceKey: { type: 'string' },
  },
};

interface CertSnBody {
  certSn?: number | string;
  certSN?: number | string;
}

/**
 * Connection Service: certificates (docs/ENOS-PROTOCOL.md §6, §7.3). Registered inside the signed,
 * org-checked scope. Every call to the certificate service carries `scope: { orgId }` (and the
 * device where one is named), so an org can neither see nor touch another org's certificates,
 * whatever serial it sends.
 */
export async function certificateRoutes(app: FastifyInstance, options: CertificateRoutesOptions): Promise<void> {
  const ctx = certificateContext(options);
  applyRoute(app, ctx);
  renewRoute(app, ctx);
  revokeRoute(app, ctx);
  listRoute(app, ctx);
}

/** What the certificate actions share: the registry, the service, and the look-ups every action makes. */
interface CertificateContext {
  registry: Registry;
  certs: CertificateOperations;
  deviceOf(req: FastifyRequest): Promise<{ device: DeviceRecord; product: ProductRecord }>;
  boundCertificate(req: FastifyRequest, device: DeviceRecord, certSN: string | number): Promise<IssuedCertificate>;
  issued(r: IssueResult): Record<string, unknown>;
}

function certificateContext({ registry, certs, publicBaseUrl }: CertificateRoutesOptions): CertificateContext {
  const base = () => (typeof publicBaseUrl === 'function' ? publicBaseUrl() : publicBaseUrl).replace(/\/+$/, '');
  return {
    registry,
    certs,
    async deviceOf(req) {
      const device = await registry.devices.require(req.orgId!, deviceRefOf(req.query as object));
      return { device, product: await registry.products.require(req.orgId!, device.productKey) };
    },
    /**
     * The certificate a renew/revoke names, which must be bound to the device of the query: a
     * certificate of another device of the org is 11833 (§7.3); one of another org does not exist.
     */
    async boundCertificate(req, device, certSN) {
      const orgId = req.orgId!;
      const cert = await certificateCall(() => certs.get({ certSN, scope: { orgId } }));
      if (!cert) throw new EnosError(codes.notFound, `Certificate ${certSN} not found`);
      if (cert.binding.assetId !== device.assetId) throw boundElsewhere(cert.certSN);
      return cert;
    },
    issued: (r) => ({
      cert: r.certificate.certPem,
      // The root: what the device trusts (§6). The issuing CA and the root together are at certChainURL.
      caCert: r.rootCertPem,
      certChainURL: `${base()}${chainPath(r.certificate.issueAuthority)}`,
      certSN: r.certificate.certSN,
      issueAuthority: r.certificate.issueAuthority,
    }),
  };
}

/** §7.3 apply: signs a CSR for a device of a bi-directional-auth product. */
function applyRoute(app: FastifyInstance, ctx: CertificateContext): void {
  connectRoute(app, {
    method: 'POST',
    resource: 'certificates',
    action: 'apply',
    bodyLimit: BODY_LIMIT,
    schema: {
      tags: ['certificates'],
      summary: 'Sign a PKCS#10 CSR for a device of a bi-directional-auth product and bind the certificate to it',
      querystring: actionQuery('apply', deviceRefQuery),
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['csr'],
        properties: { csr: { type: 'string', minLength: 1 }, validDay: { type: 'integer', minimum: 1 }, issueAuthority: authoritySchema },
      },
      response: { 200: envelopeSchema(issuedSchema) },
    },
    handler: async (req) => {
      const body = req.body as { csr: string; validDay?: number; issueAuthority?: string };
      const { device, product } = await ctx.deviceOf(req);
      // §7.3 apply prerequisite: "The product to which the device belongs supports bi-directional authentication."
      if (!product.biDirectionalAuth)
        throw new EnosError(
          codes.invalidArgument,
          `Invalid Argument: product ${product.productKey} does not use bi-directional (certificate) authentication`,
        );
      const r = await certificateCall(() =>
        ctx.certs.issue({
          csrPem: body.csr,
          issueAuthority: authorityOf(body.issueAuthority) ?? 'RSA',
          validDay: body.validDay ?? product.defaultValidDay,
          maxValidDay: product.maxValidDay,
          binding: { orgId: device.orgId, productKey: device.productKey, deviceKey: device.deviceKey, assetId: device.assetId },
        }),
      );
      return ok(req.id, ctx.issued(r));
    },
  });
}

/** §7.3 renew: a new certificate for the same device, from a new CSR or the previous one. */
function renewRoute(app: FastifyInstance, ctx: CertificateContext): void {
  connectRoute(app, {
    method: 'POST',
    resource: 'certificates',
    action: 'renew',
    bodyLimit: BODY_LIMIT,
    schema: {
      tags: ['certificates'],
      summary: "Renew a device's certificate: from a new CSR, or (without csr) from the previous certificate's CSR",
      querystring: actionQuery('renew', deviceRefQuery),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          certSn: certSnSchema,
          certSN: certSnSchema,
          csr: { type: 'string', minLength: 1 },
          validDay: { type: 'integer', minimum: 1 },
          issueAuthority: authoritySchema,
        },
      },
      response: { 200: envelopeSchema(issuedSchema) },
    },
    handler: async (req) => {
      const body = (req.body ?? {}) as CertSnBody & { csr?: string; validDay?: number; issueAuthority?: string };
      const certSN = certSnOf(body);
      const { device, product } = await ctx.deviceOf(req);
      await ctx.boundCertificate(req, device, certSN);
      const issueAuthority = authorityOf(body.issueAuthority);
      const r = await certificateCall(() =>
        ctx.certs.renew({
          certSN,
          ...(body.csr !== undefined ? { csrPem: body.csr } : {}),
          ...(issueAuthority ? { issueAuthority } : {}),
          validDay: body.validDay ?? product.defaultValidDay,
          maxValidDay: product.maxValidDay,
          // Checked again by the service, so a concurrent change cannot slip between look-up and renewal.
          scope: { orgId: device.orgId, assetId: device.assetId },
        }),
      );
      return ok(req.id, ctx.issued(r));
    },
  });
}

/** §7.3 revoke: certSn and reason from the body or the query. */
function revokeRoute(app: FastifyInstance, ctx: CertificateContext): void {
  connectRoute(app, {
    method: 'POST',
    resource: 'certificates',
    action: 'revoke',
    // EnOS clients may send certSn and reason as query parameters only, with no body at all.
    bodyOptional: true,
    schema: {
      tags: ['certificates'],
      summary: `Revoke a device's certificate; reason ${REASONS.join(', ')} (RFC 5280 CRLReason, default 0)`,
      // EnOS documents certSn and reason in the body and also as query parameters: both are accepted.
      querystring: actionQuery('revoke', { ...deviceRefQuery, certSn: digits(49), reason: digits(2) }),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: { certSn: certSnSchema, certSN: certSnSchema, reason: { type: 'integer' } },
      },
      response: { 200: envelopeSchema({ type: 'null' }) },
    },
    handler: async (req) => {
      const q = req.query as { certSn?: string; reason?: string };
      const body = (req.body ?? {}) as CertSnBody & { reason?: number };
      const certSN = certSnOf({ certSn: body.certSn ?? body.certSN ?? q.certSn });
      const reason = body.reason ?? (q.reason === undefined ? 0 : Number(q.reason));
      if (!REASONS.includes(reason))
        throw new EnosError(codes.invalidArgument, `Invalid Argument reason: must be one of ${REASONS.join(', ')}`);
      const { device } = await ctx.deviceOf(req);
      await ctx.boundCertificate(req, device, certSN);
      await certificateCall(() =>
        ctx.certs.revoke({ certSN, reason: reason as RevocationReason, scope: { orgId: device.orgId, assetId: device.assetId } }),
      );
      return ok(req.id, null);
    },
  });
}

/** §7.3 list: a device's certificates whole, or the org's page by page. */
function listRoute(app: FastifyInstance, ctx: CertificateContext): void {
  connectRoute(app, {
    method: 'GET',
    resource: 'certificates',
    action: 'list',
    schema: {
      tags: ['certificates'],
      summary:
        "List a device's certificates, newest first (assetId or productKey + deviceKey); without a device, the org's certificates page by page. " +
        'expiringWithinDays=N keeps only valid certificates expiring within N days that have not been renewed yet (what a rotation renews).',
      querystring: actionQuery('list', {
        ...deviceRefQuery,
        expiringWithinDays: digits(5),
        pageNo: digits(7),
        pageSize: digits(3),
      }),
      response: { 200: envelopeSchema({ type: 'array', items: listItemSchema }, { pagination: paginationResponseSchema }) },
    },
    handler: async (req) => {
      const q = req.query as {
        assetId?: string;
        productKey?: string;
        deviceKey?: string;
        expiringWithinDays?: string;
        pageNo?: string;
        pageSize?: string;
      };
      const orgId = req.orgId!;
      const named = q.assetId !== undefined || q.productKey !== undefined || q.deviceKey !== undefined;
      const scope = named ? { orgId, assetId: (await ctx.registry.devices.require(orgId, deviceRefOf(q))).assetId } : { orgId };
      const found = await certificateCall(() =>
        q.expiringWithinDays !== undefined
          ? dueForRenewal(ctx.certs, { withinDays: Number(q.expiringWithinDays), scope })
          : ctx.certs.list({ binding: scope }),
      );
      // §7.3 lists a device's certificates whole; the org-wide list is paged like every search (≤ 200).
      if (named) return ok(req.id, found.map(listItem));
      const pageNo = q.pageNo === undefined ? 1 : Number(q.pageNo);
      const pageSize = q.pageSize === undefined ? 10 : Number(q.pageSize);
      if (pageNo < 1) throw new EnosError(codes.invalidArgument, 'Invalid Argument pageNo: from 1');
      if (pageSize < 1 || pageSize > MAX_PAGE_SIZE)
        throw new EnosError(codes.invalidArgument, `Invalid Argument pageSize: from 1 to ${MAX_PAGE_SIZE}`);
      const page = found.slice((pageNo - 1) * pageSize, pageNo * pageSize);
      return { ...ok(req.id, page.map(listItem)), pagination: { pageNo, pageSize, totalSize: found.length, sortedBy: null } };
    },
  });
}

/**
 * Public CA material, outside the signed scope (docs/ENOS-PROTOCOL.md §6 "certChainURL"; docs/PROTOCOL.md,
 * "Public CA downloads"): the certificate service's own routes, mounted here. CRLs are served only
 * with the embedded service; a standalone one publishes its own.
 */
export async function certificatePublicRoutes(
  app: FastifyInstance,
  { certs, service }: { certs: CertificateOperations; service?: CertificateService },
): Promise<void> {
  await publicCaRoutes(app, {
    caCertificates: () => certs.caCertificates(),
    ...(service ? { crl: (name: CrlName) => certificateCall(() => service.crl(name)) } : {}),
    notFound: (message) => new EnosError(codes.notFound, message),
    schema: { tags: ['certificates'] },
    // The CA changes only with an operator's restart; a standalone service is not asked on every download.
    cacheMs: 60_000,
  });
}

/** Where the chain of an issuing CA is downloaded (certChainURL), relative to the hub's base URL. */
export function chainPath(authority: IssueAuthority): string {
  return `/enos/CA/cacert/${authority}`;
}

function authorityOf(value: string | undefined): IssueAuthority | undefined {
  const upper = value?.toUpperCase();
  return upper === 'RSA' || upper === 'ECC' ? upper : undefined;
}

function certSnOf(body: CertSnBody): string | number {
  const sn = body.certSn ?? body.certSN;
  if (sn === undefined) throw new EnosError(codes.invalidArgument, 'Invalid Argument certSn: certSn is missing');
  return sn;
}

/** A certificate in the §7.3 list shape (DeviceCertDetailInfo), plus the device it is bound to. */
function listItem(c: IssuedCertificate) {
  return {
    certSN: c.certSN,
    cert: c.certPem,
    certStatus: c.status,
    issuer: c.issuer,
    subject: c.subject,
    signDate: c.issuedAt.getTime(),
    // EnOS spells it effetiveDate (§7.3); later EnOS versions effectiveDate. Both, same value.
    effetiveDate: c.notBefore.getTime(),
    effectiveDate: c.notBefore.getTime(),
    expireDate: c.notAfter.getTime(),
    validDay: c.validDay,
    // Who revoked is not recorded; the reason is the §6 code, as a string like EnOS's.
    ...(c.revocationReason !== undefined ? { revokerReason: String(c.revocationReason) } : {}),
    isEnosCert: true,
    issueAuthority: c.issueAuthority,
    assetId: c.binding.assetId,
    productKey: c.binding.productKey,
    deviceKey: c.binding.deviceKey,
  };
}
