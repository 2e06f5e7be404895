import type { FastifyInstance, FastifyReply } from 'fastify';
import type { CaCertificates } from '../api.js';
import type { CrlName, PublishedCrl } from '../crl.js';
import { issueAuthorities, type IssueAuthority } from '../store/port.js';

/** What the public CA downloads are served from, and how their host reports a name it does not know. */
export interface PublicCaOptions {
  caCertificates: () => Promise<CaCertificates>;
  /** The CRLs; absent where they are published elsewhere (a hub using a standalone service). */
  crl?: (name: CrlName) => Promise<PublishedCrl>;
  /** The error the host answers 404 with (its own error envelope). */
  notFound: (message: string) => Error;
  /** Added to each route's schema (the hub's OpenAPI tags). */
  schema?: Record<string, unknown>;
  /** How long a CA download is reused before the source is asked again (a remote service); default 0. */
  cacheMs?: number;
}

const PEM_TYPE = 'application/x-pem-file';

/**
 * The public CA material, outside any signed scope: what devices and relying parties download
 * (docs/PROTOCOL.md, "Public CA downloads"). One implementation, mounted by the standalone
 * certificate service and by the hub:
 *   GET /enos/CA/cacert, /ca/root.pem                 the root (PEM)
 *   GET /enos/CA/cacert/{RSA|ECC}, /ca/chain/{RSA|ECC}.pem   the issuing CA then the root (PEM): a certificate's certChainURL
 *   GET /ca/{RSA|ECC}.pem                             the issuing CA alone (PEM)
 *   GET /enos/CA/crl/{RSA|ECC|root}, /crl/{RSA|ECC|root}.crl   a CRL (DER); the second is the
 *       distribution point written into every certificate; root only where the root key is
 */
export async function publicCaRoutes(app: FastifyInstance, options: PublicCaOptions): Promise<void> {
  const ca = caSource(options);
  const authority = (name: string): IssueAuthority => {
    const upper = name.toUpperCase();
    if (!(issueAuthorities as readonly string[]).includes(upper))
      throw options.notFound(`No issue authority ${name.slice(0, 16)}: RSA or ECC`);
    return upper as IssueAuthority;
  };
  const file = (name: string, extension: string): string => {
    if (!name.endsWith(extension)) throw options.notFound(`No such file: ${name.slice(0, 32)}`);
    return name.slice(0, -extension.length);
  };
  const pem = (reply: FastifyReply, body: string) => reply.type(PEM_TYPE).send(body);
  const route = (summary: string) => ({ schema: { ...options.schema, summary } });
  type Named = { Params: { name: string } };

  const root = async (_req: unknown, reply: FastifyReply) => pem(reply, (await ca()).rootPem);
  app.get('/enos/CA/cacert', route('The root CA certificate (PEM)'), root);
  app.get('/ca/root.pem', route('The root CA certificate (PEM)'), root);
  app.get<Named>(
    '/enos/CA/cacert/:name',
    route('An issuing CA and the root (PEM): the certChainURL of its certificates'),
    async (req, reply) => pem(reply, (await ca()).authorities[authority(req.params.name)].chainPem),
  );
  app.get<Named>('/ca/chain/:name', route('An issuing CA and the root (PEM)'), async (req, reply) =>
    pem(reply, (await ca()).authorities[authority(file(req.params.name, '.pem'))].chainPem),
  );
  app.get<Named>('/ca/:name', route('An issuing CA certificate (PEM)'), async (req, reply) =>
    pem(reply, (await ca()).authorities[authority(file(req.params.name, '.pem'))].certPem),
  );
  const crl = options.crl;
  if (!crl) return;
  const crlName = (name: string): CrlName => (name === 'root' ? 'root' : authority(name));
  const sendCrl = async (name: CrlName, reply: FastifyReply) => {
    const published = await crl(name);
    return reply
      .type('application/pkix-crl')
      .header('last-modified', published.thisUpdate.toUTCString())
      .header('expires', published.nextUpdate.toUTCString())
      .send(Buffer.from(published.der));
  };
  app.get<Named>('/enos/CA/crl/:name', route('The CRL of an issuing CA, or of the root (DER)'), async (req, reply) =>
    sendCrl(crlName(req.params.name), reply),
  );
  app.get<Named>('/crl/:name', route('The CRL distribution point of an issuing CA, or the root CRL (DER)'), async (req, reply) =>
    sendCrl(crlName(file(req.params.name, '.crl')), reply),
  );
}

/** The CA certificates, reused for `cacheMs` (they change only with an operator's restart). */
function caSource({ caCertificates, cacheMs = 0 }: PublicCaOptions): () => Promise<CaCertificates> {
  let cached: { at: number; value: Promise<CaCertificates> } | undefined;
  return () => {
    if (!cached || Date.now() - cached.at > cacheMs) {
      const value = caCertificates();
      value.catch(() => (cached = undefined));
      cached = { at: Date.now(), value };
    }
    return cached.value;
  };
}
