import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCertificateService, type CertificateService } from '@edgehub/certificate-service';
import { buildCsr, exportPrivateKeyPem, generateDeviceKey } from '@edgehub/shared/device-certificate';
import { credentialFiles, loadDeviceCredentials, storeDeviceCredentials, type DeviceCredentials } from '../src/certificate-files.js';

/** The edge's credential files: modes, atomic replacement, and a key that must match its certificate. */
describe('device credential files', () => {
  let dir: string;
  let service: CertificateService;
  let creds: DeviceCredentials;
  let n = 0;

  async function credentials(): Promise<DeviceCredentials> {
    const keys = await generateDeviceKey('P-256');
    const cn = `edge-${++n}`;
    const csrPem = await buildCsr({ keys, subject: { C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'Edge', CN: cn } });
    const r = await service.issue({ csrPem, issueAuthority: 'ECC', binding: { orgId: 'o', productKey: 'p', deviceKey: cn, assetId: cn } });
    return { certPem: r.certificate.certPem, keyPem: await exportPrivateKeyPem(keys), caPem: r.rootCertPem };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edge-creds-'));
    service = await openCertificateService({ dataDir: join(dir, 'ca') });
    creds = await credentials();
  });
  afterAll(async () => {
    await service?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the key 0600 and the certificates 0644 in a 0700 directory, and reads them back', async () => {
    const at = join(dir, 'device', 'tls');
    await storeDeviceCredentials(at, creds);
    const mode = async (p: string) => (await stat(p)).mode & 0o777;
    expect(await mode(at)).toBe(0o700);
    expect(await mode(join(at, credentialFiles.key))).toBe(0o600);
    expect(await mode(join(at, credentialFiles.cert))).toBe(0o644);
    expect(await mode(join(at, credentialFiles.ca))).toBe(0o644);
    expect(await loadDeviceCredentials(at)).toEqual(creds);
    // nothing left behind by the temp-file-and-rename writes
    expect((await readdir(at)).sort()).toEqual(Object.values(credentialFiles).sort());
  });

  it('replaces the credentials of a renewal in place', async () => {
    const at = join(dir, 'replace');
    await storeDeviceCredentials(at, creds);
    const next = await credentials();
    await storeDeviceCredentials(at, next);
    const loaded = await loadDeviceCredentials(at);
    expect(new X509Certificate(loaded!.certPem).serialNumber).toBe(new X509Certificate(next.certPem).serialNumber);
    expect((await stat(join(at, credentialFiles.key))).mode & 0o777).toBe(0o600);
  });

  it('has nothing before the first apply, and refuses half a set or a key of another certificate', async () => {
    expect(await loadDeviceCredentials(join(dir, 'never-written'))).toBeUndefined();

    const half = join(dir, 'half');
    await storeDeviceCredentials(half, creds);
    await rm(join(half, credentialFiles.cert));
    await expect(loadDeviceCredentials(half)).rejects.toThrow(/device\.crt missing/);

    const mismatched = join(dir, 'mismatched');
    await storeDeviceCredentials(mismatched, creds);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await writeFile(join(mismatched, credentialFiles.key), otherKey, { mode: 0o600 });
    await expect(loadDeviceCredentials(mismatched)).rejects.toThrow(/does not belong to its certificate/);

    await expect(storeDeviceCredentials(join(dir, 'bad'), { ...creds, keyPem: 'not a key' })).rejects.toThrow(
      /keyPem must be a PEM string/,
    );
  });
});
