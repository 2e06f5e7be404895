/**
 * The hub's certificate service (docs/ENOS-PROTOCOL.md §6): in-process by default (all-in-one), or a
 * standalone certificate service reached over its HMAC-signed channel. Either way the rest of the
 * hub sees the same `CertificateOperations`; only the embedded mode also has the `CertificateService`
 * itself (synchronous `isRevoked`, the CRLs the hub serves at the URL written into certificates).
 */
import { join } from 'node:path';
import {
  connectCertificateService,
  openCertificateService,
  type CertificateOperations,
  type CertificateService,
  type Logger,
} from '@edgehub/certificate-service';

export type CertificateMode = 'embedded' | { url: string; sharedSecret: string };

export interface HubCertificatesOptions {
  /** The hub's data directory; the embedded CA and its store live in `{dataDir}/certificates`. */
  dataDir: string;
  mode: CertificateMode;
  /**
   * Where the hub's REST API is reachable from devices (e.g. https://hub.example:8080): the base of
   * `certChainURL` and, embedded, of the CRL URL written into every certificate. A function is read
   * at each use, for a hub listening on an ephemeral port.
   */
  publicBaseUrl: string | (() => string);
  /** pino fits: only info/warn/error with a message are used. */
  log: Logger;
  /** Embedded: hours a renewed certificate stays valid beside its successor (docs/SECURITY.md "Certificates"). */
  supersededGraceHours?: number;
}

export interface HubCertificates {
  ops: CertificateOperations;
  /** The in-process service (embedded mode only). */
  service?: CertificateService;
  close(): Promise<void>;
}

export async function openHubCertificates(opts: HubCertificatesOptions): Promise<HubCertificates> {
  if (opts.mode === 'embedded') {
    const service = await openCertificateService({
      // The CA's keys end up in {dataDir}/certificates/ca (0700 directory, 0600 keys).
      dataDir: join(opts.dataDir, 'certificates'),
      publicBaseUrl: opts.publicBaseUrl,
      logger: opts.log,
      ...(opts.supersededGraceHours !== undefined ? { supersededGraceHours: opts.supersededGraceHours } : {}),
    });
    return { ops: service, service, close: () => service.close() };
  }
  // Never an open channel (issue 5): every call and every answer is signed with the shared secret.
  const ops = connectCertificateService({ baseUrl: opts.mode.url, sharedSecret: opts.mode.sharedSecret });
  // Fail at start, with the reason, rather than at the first device's apply: a wrong secret or URL
  // is a deployment error.
  try {
    await ops.caCertificates();
  } catch (err) {
    throw new Error(`certificate service at ${opts.mode.url} is not usable: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  opts.log.info(`certificates: using the standalone certificate service at ${opts.mode.url}`);
  return { ops, close: async () => {} };
}
