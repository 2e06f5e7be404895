import { readFile } from 'node:fs/promises';
import type { ApiClient } from '@edgehub/shared/api-client';
import {
  applyRequestBody,
  buildCsr,
  exportPrivateKeyPem,
  generateDeviceKey,
  renewRequestBody,
  shouldRenew,
} from '@edgehub/shared/device-certificate';
import type { Logger } from 'pino';
import { loadDeviceCredentials, storeDeviceCredentials, type DeviceCredentials } from './certificate-files.js';
import type { EdgeConfig } from './config/types.js';

type Applied = { cert: string; caCert: string; certSN: string | number };

/**
 * Certificate mode (seed step 5): the edge makes a P-256 key and a CSR, applies through the hub
 * REST with its service account, keeps the certificate and key (key 0600) and connects with mutual
 * TLS. Renewal at two thirds of the lifetime, with a fresh key.
 */
export async function ensureCertificate(
  cfg: EdgeConfig,
  api: ApiClient,
  log: Logger,
  opts: { renew?: boolean; now?: Date } = {},
): Promise<DeviceCredentials & { certSN?: string }> {
  const now = opts.now ?? new Date();
  const dir = cfg.certificate.dir;
  const current = await loadDeviceCredentials(dir).catch(() => undefined);
  if (current && !opts.renew && !shouldRenew(current.certPem, now)) return current;
  const { productKey, deviceKey } = cfg.identity.gateway;
  const keys = await generateDeviceKey('P-256');
  // A renewal keeps the CN (docs/SECURITY.md "Certificates"); a first application takes a fresh one.
  const commonName = (current && (await currentCommonName(current.certPem))) ?? `${productKey}.${deviceKey}.${now.getTime()}`;
  const csrPem = await buildCsr({ keys, subject: { C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'Edge', CN: commonName } });
  const query = { orgId: cfg.identity.orgId, productKey, deviceKey };
  const certSN = current ? await currentSerial(current.certPem) : undefined;
  const r =
    current && certSN
      ? await api.ok<Applied>(
          'POST',
          '/connect-service/v2.0/certificates',
          { action: 'renew', ...query },
          renewRequestBody(certSN, {
            csrPem,
            ...(cfg.certificate.validDay ? { validDay: cfg.certificate.validDay } : {}),
            issueAuthority: 'ECC',
          }),
        )
      : await api.ok<Applied>(
          'POST',
          '/connect-service/v2.0/certificates',
          { action: 'apply', ...query },
          applyRequestBody(csrPem, cfg.certificate.validDay, 'ECC'),
        );
  const creds: DeviceCredentials = { certPem: r.data.cert, keyPem: await exportPrivateKeyPem(keys), caPem: r.data.caCert };
  await storeDeviceCredentials(dir, creds);
  log.info({ certSN: String(r.data.certSN), renewed: Boolean(current) }, 'device certificate stored');
  return { ...creds, certSN: String(r.data.certSN) };
}

/** The CN of a PEM certificate's subject. */
async function currentCommonName(certPem: string): Promise<string | undefined> {
  const { X509Certificate } = await import('node:crypto');
  try {
    return /^CN=(.*)$/m.exec(new X509Certificate(certPem).subject)?.[1];
  } catch {
    return undefined;
  }
}

/** The decimal serial (EnOS certSN) of a PEM certificate. */
async function currentSerial(certPem: string): Promise<string | undefined> {
  const { X509Certificate } = await import('node:crypto');
  try {
    return BigInt('0x' + new X509Certificate(certPem).serialNumber).toString(10);
  } catch {
    return undefined;
  }
}

/** When the current certificate should be renewed: two thirds into its lifetime. */
export async function renewalDueAt(certPem: string): Promise<number> {
  const { X509Certificate } = await import('node:crypto');
  const c = new X509Certificate(certPem);
  const from = Date.parse(c.validFrom);
  const to = Date.parse(c.validTo);
  return from + ((to - from) * 2) / 3;
}

export async function readCaFile(path: string | undefined): Promise<Buffer | undefined> {
  return path ? readFile(path) : undefined;
}
