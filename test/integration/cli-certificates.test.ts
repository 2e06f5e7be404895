import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliRunner, provision, startHub, type CliRun, type ProvisionedDevice, type RunningHub } from '../src/index.js';

const exec = promisify(execFile);

/** `certificate apply|list|revoke|ca|crl` against a real hub, checked with real openssl. */
describe('edgehub CLI: certificates', () => {
  let h: RunningHub;
  let dir: string;
  let cli: (args: string[]) => Promise<CliRun>;
  let made: ProvisionedDevice;
  let own: ProvisionedDevice;
  const name = (d: ProvisionedDevice) => `${d.productKey}/${d.deviceKey}`;

  beforeAll(async () => {
    h = await startHub();
    dir = await mkdtemp(join(tmpdir(), 'edgehub-cli-cert-'));
    cli = cliRunner(join(dir, 'credentials.json')).run;
    const login = await cli(['login', '--url', h.baseUrl, '--from-credentials', h.hub.credentialsPath]);
    expect(login.code, login.stderr).toBe(0);
    const p = await provision(h.admin, h.adminCreds.orgId, {
      productType: 'Device',
      deviceKeys: ['meter-1', 'meter-2'],
      product: { biDirectionalAuth: true },
    });
    [made, own] = p.devices as [ProvisionedDevice, ProvisionedDevice];
  });

  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a key (0600) and a CSR, gets it signed, and the downloaded chain verifies it', { timeout: 60_000 }, async () => {
    const key = join(dir, 'meter-1.key.pem');
    const cert = join(dir, 'meter-1.cert.pem');
    const chain = join(dir, 'ecc-chain.pem');
    const [apply, ca] = await Promise.all([
      cli(['--json', 'certificate', 'apply', name(made), '--key-out', key, '--cert-out', cert]),
      cli(['certificate', 'ca', '--authority', 'ECC', '--out', chain]),
    ]);
    expect(apply.code, apply.stderr).toBe(0);
    expect(ca.code, ca.stderr).toBe(0);
    expect(JSON.parse(apply.stdout)).toMatchObject({ issueAuthority: 'ECC', keyFile: key, certFile: cert });
    expect((await stat(key)).mode & 0o777).toBe(0o600);
    const { stdout: verified } = await exec('openssl', ['verify', '-partial_chain', '-CAfile', chain, '-purpose', 'sslclient', cert]);
    expect(verified).toContain(': OK');
    // The key written is the certificate's key.
    const pub = async (args: string[]) => (await exec('openssl', args)).stdout;
    expect(await pub(['pkey', '-in', key, '-pubout'])).toBe(await pub(['x509', '-in', cert, '-noout', '-pubkey']));
    // A key is never overwritten.
    const again = await cli(['certificate', 'apply', name(made), '--key-out', key]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('never overwritten');
  });

  it('signs a CSR the user made with openssl, lists it, revokes it, and the CRL downloaded names it', async () => {
    const key = join(dir, 'meter-2.key');
    const csr = join(dir, 'meter-2.csr');
    await exec('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', key]);
    const root = join(dir, 'root.pem');
    const ca = await cli(['certificate', 'ca', '--out', root]);
    expect(ca.code, ca.stderr).toBe(0);
    const { stdout: subject } = await exec('openssl', ['x509', '-in', root, '-noout', '-subject', '-nameopt', 'compat']);
    const field = (f: string) => new RegExp(`/${f}=([^/\\n]+)`).exec(subject.replace(/^subject=/, '/'))![1]!;
    const subj = `/C=${field('C')}/ST=${field('ST')}/L=x/O=${field('O')}/OU=meters/CN=${own.deviceKey}`;
    await exec('openssl', ['req', '-new', '-key', key, '-subj', subj, '-sha256', '-out', csr]);

    const apply = await cli(['--json', 'certificate', 'apply', '--product', own.productKey, '--key', own.deviceKey, '--csr', csr]);
    expect(apply.code, apply.stderr).toBe(0);
    const { certSN, issueAuthority } = JSON.parse(apply.stdout) as { certSN: string; issueAuthority: string };
    expect(issueAuthority).toBe('RSA');

    const revoke = await cli(['certificate', 'revoke', name(own), '--cert-sn', certSN, '--reason', '1']);
    expect(revoke.code, revoke.stderr).toBe(0);
    const crlFile = join(dir, 'rsa.crl');
    const [list, crl] = await Promise.all([
      cli(['--json', 'certificate', 'list', '--asset-id', own.assetId]),
      cli(['certificate', 'crl', '--authority', 'RSA', '--out', crlFile]),
    ]);
    expect((JSON.parse(list.stdout) as { items: { certSN: string; certStatus: number }[] }).items).toEqual([
      expect.objectContaining({ certSN, certStatus: 1 }),
    ]);
    expect(crl.code, crl.stderr).toBe(0);
    const { stdout: text } = await exec('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
    const hex = BigInt(certSN).toString(16).toUpperCase();
    expect(text.toUpperCase().replace(/[^0-9A-F\n]/g, '')).toContain(hex);
    expect(text).toContain('Key Compromise');
  }, 90_000);

  it('refuses a missing CSR file and a CSR plus --key-out before calling the hub', async () => {
    const [missing, both] = await Promise.all([
      cli(['certificate', 'apply', name(own), '--csr', join(dir, 'nope.csr')]),
      cli(['certificate', 'apply', name(own), '--csr', 'x.csr', '--key-out', 'y.pem']),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read the CSR');
    expect(both.code).toBe(2);
  });
});
