import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient } from '@edgehub/hub';
import { cliRunner, newTenant, provision, startHub, type ProvisionedDevice, type RunningHub } from '../src/index.js';

/**
 * Issue 5 through the hub's REST API (docs/ENOS-PROTOCOL.md §6, §7.3): CSRs made by real tools are
 * signed and bound to the device, `openssl verify -purpose sslclient` accepts the result, renew,
 * revoke and list behave like EnOS, every refusal has its code and leaves no certificate behind,
 * and no org can touch another org's certificates.
 */
const inCi = process.env['CI'] === 'true';
const missing = ['openssl', 'certtool'].filter((t) => spawnSync(t, ['--version'], { stdio: 'ignore' }).error !== undefined);

interface Issued {
  cert: string;
  caCert: string;
  certChainURL: string;
  certSN: string;
  issueAuthority: string;
}

interface Listed {
  certSN: string;
  cert: string;
  certStatus: number;
  issuer: string;
  subject: string;
  signDate: number;
  effetiveDate: number;
  effectiveDate: number;
  expireDate: number;
  revoker?: string;
  revokerReason?: string;
  isEnosCert: boolean;
  issueAuthority: string;
  assetId: string;
}

type Ref = { assetId: string } | { productKey: string; deviceKey: string };

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { encoding: 'utf8', timeout: 20_000 }, (err, stdout, stderr) => {
      if (err && typeof (err as { code?: unknown }).code !== 'number') return reject(new Error(err.message, { cause: err }));
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, out: stdout + stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function runOk(cmd: string, args: string[], input?: string): Promise<string> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}: ${r.out}`);
  return r.out;
}

/** The EnOS quickstart subject (§6), `-subj` syntax. */
const subj = (cn: string, o: Partial<Record<'C' | 'ST' | 'L' | 'O' | 'OU', string>> = {}) =>
  Object.entries({ C: 'CN', ST: 'Shanghai', L: 'Shanghai', O: 'EnOS', OU: 'Edge Service', ...o, CN: cn })
    .map(([k, v]) => `/${k}=${v}`)
    .join('');

let cnCounter = 0;
const uniqueCn = (tag: string) => `${tag}-${++cnCounter}-${Math.random().toString(36).slice(2, 8)}`;

describe.skipIf(missing.length > 0 && !inCi)(
  `device certificates over REST${missing.length > 0 ? ` (skipped: ${missing.join(', ')} not on PATH)` : ''}`,
  () => {
    let h: RunningHub;
    let dir: string;
    let a: { orgId: string; client: ApiClient; accessKey: string; accessSecret: string };
    let b: { orgId: string; client: ApiClient };
    let devices: Record<string, ProvisionedDevice>;
    let plainDevice: ProvisionedDevice;
    let otherOrgDevice: ProvisionedDevice;
    let productKey: string;
    let otherProductKey: string;
    let sameNameDevice: ProvisionedDevice;
    const keys: Record<'rsa' | 'p256' | 'rsa1024', string> = { rsa: '', p256: '', rsa1024: '' };

    const certificates = (
      t: { orgId: string; client: ApiClient },
      method: 'GET' | 'POST',
      action: string,
      query: Record<string, string>,
      body?: unknown,
    ) => t.client.call<unknown>(method, '/connect-service/v2.0/certificates', { action, orgId: t.orgId, ...query }, body);
    const apply = async (ref: Ref, body: Record<string, unknown>, t: { orgId: string; client: ApiClient } = a) =>
      (await certificates(t, 'POST', 'apply', ref, body)) as { status: number; code: number; msg: string; data: Issued };
    const list = async (ref: Ref, t: { orgId: string; client: ApiClient } = a) => {
      const r = await certificates(t, 'GET', 'list', ref);
      expect(r.code, r.msg).toBe(0);
      return r.data as Listed[];
    };
    const orgTotal = async (t: { orgId: string; client: ApiClient }) => {
      const r = await certificates(t, 'GET', 'list', { pageSize: '200' });
      expect(r.code, r.msg).toBe(0);
      return r.pagination!.totalSize;
    };
    const csr = (key: string, cn: string, o: Partial<Record<'C' | 'ST' | 'L' | 'O' | 'OU', string>> = {}) =>
      runOk('openssl', ['req', '-new', '-key', key, '-subj', subj(cn, o), '-sha256']);
    const dev = (name: string): Ref => ({ assetId: devices[name]!.assetId });

    /** The issue's acceptance check, with the chain downloaded from the certChainURL the hub returned. */
    async function expectVerified(issued: Issued, authority: 'RSA' | 'ECC'): Promise<void> {
      expect(issued.certChainURL).toMatch(new RegExp(`/enos/CA/cacert/${authority}$`));
      const res = await fetch(issued.certChainURL);
      expect(res.status).toBe(200);
      const blocks = (await res.text()).match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
      expect(blocks).toHaveLength(2);
      const [issuing, root] = blocks as [string, string];
      // caCert is the root the device trusts (§6).
      expect(issued.caCert.trim()).toBe(root.trim());
      const tag = Math.random().toString(36).slice(2);
      const file = async (name: string, pem: string) => {
        const p = join(dir, `${name}-${tag}.pem`);
        await writeFile(p, pem + '\n');
        return p;
      };
      const v = await run('openssl', [
        'verify',
        '-CAfile',
        await file('root', root),
        '-untrusted',
        await file('issuing', issuing),
        '-purpose',
        'sslclient',
        await file('cert', issued.cert),
      ]);
      expect(v.out).toMatch(/: OK/);
      expect(v.code).toBe(0);
      // certSN is the certificate's serial, in decimal (§6).
      const serial = (await runOk('openssl', ['x509', '-noout', '-serial'], issued.cert)).trim().replace(/^serial=/, '');
      expect(BigInt('0x' + serial).toString()).toBe(issued.certSN);
    }

    beforeAll(async () => {
      if (inCi && missing.length > 0) throw new Error(`CI=true but ${missing.join(', ')} not on PATH (Debian openssl, gnutls-bin)`);
      dir = await mkdtemp(join(tmpdir(), 'edgehub-certs-'));
      const genpkey = async (name: keyof typeof keys, args: string[]) => {
        keys[name] = join(dir, `${name}.key`);
        await runOk('openssl', ['genpkey', ...args, '-out', keys[name]]);
      };
      [h] = await Promise.all([
        startHub(),
        genpkey('rsa', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']),
        genpkey('p256', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-pkeyopt', 'ec_param_enc:named_curve']),
        genpkey('rsa1024', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024']),
      ]);
      a = await newTenant(h, 'certs-a');
      b = await newTenant(h, 'certs-b');
      const p = await provision(a.client, a.orgId, {
        productType: 'Gateway',
        deviceKeys: ['rsa', 'p256', 'gnutls', 'renewed', 'revoked', 'bystander', 'expiring', 'rotated', 'named'],
        product: { biDirectionalAuth: true, defaultValidDay: 200, maxValidDay: 365 },
      });
      const sameName = await provision(b.client, b.orgId, {
        productType: 'Device',
        deviceKeys: ['same-name'],
        product: { biDirectionalAuth: true },
      });
      otherProductKey = sameName.productKey;
      sameNameDevice = sameName.devices[0]!;
      productKey = p.productKey;
      devices = Object.fromEntries(p.devices.map((d) => [d.deviceKey, d]));
      plainDevice = (await provision(a.client, a.orgId, { productType: 'Device', deviceKeys: ['plain'] })).devices[0]!;
      otherOrgDevice = (
        await provision(b.client, b.orgId, { productType: 'Device', deviceKeys: ['other'], product: { biDirectionalAuth: true } })
      ).devices[0]!;
    });
    afterAll(async () => {
      await h?.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('signs an openssl RSA-2048 CSR for a device named by productKey + deviceKey; openssl verify -purpose sslclient accepts it', async () => {
      const cn = uniqueCn('rsa');
      const r = await apply({ productKey, deviceKey: 'rsa' }, { csr: await csr(keys.rsa, cn) });
      expect(r.code, r.msg).toBe(0);
      expect(r.data.issueAuthority).toBe('RSA');
      expect(r.data.certSN).toMatch(/^[1-9][0-9]*$/);
      await expectVerified(r.data, 'RSA');
      const [listed] = await list(dev('rsa'));
      // the product's defaultValidDay (200) applies when the request names none
      expect(Math.round((listed!.expireDate - listed!.effectiveDate) / 86_400_000)).toBe(200);
    });

    it('signs an openssl P-256 CSR from the ECC authority (issueAuthority ignores case, as on EnOS)', async () => {
      const r = await apply(dev('p256'), { csr: await csr(keys.p256, uniqueCn('p256')), issueAuthority: 'ecc', validDay: 90 });
      expect(r.code, r.msg).toBe(0);
      expect(r.data.issueAuthority).toBe('ECC');
      await expectVerified(r.data, 'ECC');
      expect(await runOk('openssl', ['x509', '-noout', '-text'], r.data.cert)).toMatch(/ecdsa-with-SHA256/);
    });

    it('signs a GnuTLS certtool CSR (subject in certtool order)', async () => {
      const key = join(dir, 'gnutls.key');
      const template = join(dir, 'gnutls.tmpl');
      await runOk('certtool', ['--generate-privkey', '--key-type=rsa', '--bits=2048', '--outfile', key]);
      const cn = uniqueCn('gnutls');
      await writeFile(
        template,
        [
          'country = "CN"',
          'state = "Shanghai"',
          'locality = "Shanghai"',
          'organization = "EnOS"',
          'unit = "Edge Service"',
          `cn = "${cn}"`,
        ].join('\n') + '\n',
      );
      const out = await runOk('certtool', ['--generate-request', '--load-privkey', key, '--template', template]);
      const r = await apply(dev('gnutls'), { csr: out.slice(out.indexOf('-----BEGIN')) });
      expect(r.code, r.msg).toBe(0);
      await expectVerified(r.data, 'RSA');
      expect((await list(dev('gnutls')))[0]?.subject).toContain(`CN=${cn}`);
    });

    it("lists a device's certificates with the §7.3 fields, newest first", async () => {
      const [c, ...rest] = await list({ productKey, deviceKey: 'rsa' });
      expect(rest).toEqual([]);
      expect(c).toMatchObject({ certStatus: 0, isEnosCert: true, issueAuthority: 'RSA', assetId: devices['rsa']!.assetId });
      expect(c!.cert).toMatch(/^-----BEGIN CERTIFICATE-----/);
      expect(c!.subject).toMatch(/C=CN.*ST=Shanghai.*O=EnOS.*CN=rsa-/);
      expect(c!.issuer).toMatch(/CN=/);
      // EnOS's own spelling, and the corrected one
      expect(c!.effetiveDate).toBe(c!.effectiveDate);
      expect(c!.signDate).toBeGreaterThan(Date.now() - 60_000);
      expect(c!.expireDate).toBeGreaterThan(c!.effectiveDate);
      expect(c).not.toHaveProperty('revokerReason');
    });

    it('renews from the stored CSR (certSn as int) and from a new CSR; the old certificate stays valid during the superseded grace period', async () => {
      const cn = uniqueCn('renewed');
      const first = await apply(dev('renewed'), { csr: await csr(keys.rsa, cn), validDay: 30 });
      expect(first.code, first.msg).toBe(0);

      const again = await certificates(a, 'POST', 'renew', dev('renewed'), { certSn: Number(first.data.certSN), validDay: 60 });
      expect(again.code, again.msg).toBe(0);
      const second = again.data as Issued;
      expect(second.certSN).not.toBe(first.data.certSN);
      await expectVerified(second, 'RSA');
      // the same key and subject: re-issued from the previous request (§7.3)
      const pubkey = (pem: string) => runOk('openssl', ['x509', '-noout', '-pubkey'], pem);
      expect(await pubkey(second.cert)).toBe(await pubkey(first.data.cert));
      expect((await runOk('openssl', ['x509', '-noout', '-subject'], second.cert)).trim()).toBe(
        (await runOk('openssl', ['x509', '-noout', '-subject'], first.data.cert)).trim(),
      );

      // a new key, the same CN (§6: "reuse the old CN when renewing"), certSN as list returns it
      const third = await certificates(a, 'POST', 'renew', dev('renewed'), {
        certSn: second.certSN,
        csr: await csr(keys.p256, cn),
        issueAuthority: 'ECC',
      });
      expect(third.code, third.msg).toBe(0);
      await expectVerified(third.data as Issued, 'ECC');

      const listed = await list(dev('renewed'));
      expect(listed.map((c) => [c.certSN, c.certStatus])).toEqual([
        [(third.data as Issued).certSN, 0],
        [second.certSN, 0],
        [first.data.certSN, 0],
      ]);
      expect(Math.round((listed[1]!.expireDate - listed[1]!.effectiveDate) / 86_400_000)).toBe(60);
    });

    it('revokes with a §6 reason: list shows status 1 and the reason, the CRL names the serial, openssl -crl_check refuses the certificate', async () => {
      const issued = (await apply(dev('revoked'), { csr: await csr(keys.rsa, uniqueCn('revoked')) })).data;
      const r = await certificates(a, 'POST', 'revoke', dev('revoked'), { certSn: Number(issued.certSN), reason: 1 });
      expect(r).toMatchObject({ code: 0, data: null });

      const [c] = await list(dev('revoked'));
      expect(c).toMatchObject({ certSN: issued.certSN, certStatus: 1, revokerReason: '1' });

      const again = await certificates(a, 'POST', 'revoke', dev('revoked'), { certSn: Number(issued.certSN), reason: 1 });
      expect(again.code).toBe(99400);

      const crl = await fetch(`${h.baseUrl}/enos/CA/crl/RSA`);
      expect(crl.status).toBe(200);
      expect(crl.headers.get('content-type')).toMatch(/application\/pkix-crl/);
      const der = Buffer.from(await crl.arrayBuffer());
      const crlFile = join(dir, 'rsa.crl');
      await writeFile(crlFile, der);
      const text = await runOk('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-noout', '-text']);
      const serialHex = BigInt(issued.certSN).toString(16).toUpperCase();
      expect(text.replace(/:/g, '')).toContain(serialHex.length % 2 ? `0${serialHex}` : serialHex);
      expect(text).toMatch(/Key Compromise/);

      const chainPem = await (await fetch(issued.certChainURL)).text();
      // The hub mounts the certificate service's public routes: the same files under the service's names.
      expect(await (await fetch(`${h.baseUrl}/ca/chain/RSA.pem`)).text()).toBe(chainPem);
      expect(Buffer.from(await (await fetch(`${h.baseUrl}/crl/RSA.crl`)).arrayBuffer())).toEqual(der);
      const chain = chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
      const crlPemFile = join(dir, 'rsa-crl.pem');
      await runOk('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-out', crlPemFile]);
      await writeFile(join(dir, 'revoked-root.pem'), chain[1]! + '\n');
      await writeFile(join(dir, 'revoked-issuing.pem'), chain[0] + '\n');
      await writeFile(join(dir, 'revoked-cert.pem'), issued.cert);
      const v = await run('openssl', [
        'verify',
        '-crl_check',
        '-CAfile',
        join(dir, 'revoked-root.pem'),
        '-untrusted',
        join(dir, 'revoked-issuing.pem'),
        '-CRLfile',
        crlPemFile,
        '-purpose',
        'sslclient',
        join(dir, 'revoked-cert.pem'),
      ]);
      expect(v.code).not.toBe(0);
      expect(v.out).toMatch(/certificate revoked/);
    });

    it('refuses bad requests with their codes and issues no certificate for any of them', async () => {
      const before = { a: await orgTotal(a), b: await orgTotal(b) };
      const taken = (await list(dev('rsa')))[0]!;
      const takenCn = /CN=([^,]+)/.exec(taken.subject)![1]!;
      const victim = dev('bystander');
      const bystanderCert = (await apply(victim, { csr: await csr(keys.p256, uniqueCn('bystander')), issueAuthority: 'ECC' })).data;
      before.a += 1;
      const otherOrgCert = await apply({ assetId: otherOrgDevice.assetId }, { csr: await csr(keys.p256, uniqueCn('other-org')) }, b);
      expect(otherOrgCert.code, otherOrgCert.msg).toBe(0);
      before.b += 1;

      const cases: [string, () => Promise<{ code: number; msg: string }>, number, RegExp?][] = [
        ['RSA-1024', async () => apply(victim, { csr: await csr(keys.rsa1024, uniqueCn('weak')) }), 99400, /2048/],
        [
          'subject O differs from the CA',
          async () => apply(victim, { csr: await csr(keys.rsa, uniqueCn('mismatch'), { O: 'Someone Else' }) }),
          99400,
        ],
        ['duplicate CN', async () => apply(victim, { csr: await csr(keys.rsa, takenCn) }), 99400, /Duplicate subject/],
        [
          'validDay above the product maximum (365)',
          async () => apply(victim, { csr: await csr(keys.rsa, uniqueCn('long')), validDay: 366 }),
          99400,
        ],
        ['validDay not an integer', async () => apply(victim, { csr: await csr(keys.rsa, uniqueCn('frac')), validDay: 1.5 }), 99400],
        [
          'oversize CSR',
          async () =>
            apply(victim, { csr: `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(20_000)}\n-----END CERTIFICATE REQUEST-----\n` }),
          99400,
        ],
        ['body above the route limit', async () => apply(victim, { csr: 'x'.repeat(100_000) }), 99413],
        ['not PEM', async () => apply(victim, { csr: 'hello, I am a certificate request' }), 99400],
        [
          'DER in base64 without the PEM armour',
          async () => apply(victim, { csr: (await csr(keys.rsa, uniqueCn('der'))).replace(/-----[^-]+-----/g, '').replace(/\s+/g, '') }),
          99400,
        ],
        ['a certificate instead of a CSR', async () => apply(victim, { csr: taken.cert }), 99400],
        ['no csr', async () => apply(victim, {}), 99400],
        ['unknown issueAuthority', async () => apply(victim, { csr: await csr(keys.rsa, uniqueCn('ia')), issueAuthority: 'DSA' }), 99400],
        [
          'a product without bi-directional authentication',
          async () => apply({ assetId: plainDevice.assetId }, { csr: await csr(keys.rsa, uniqueCn('plain')) }),
          99400,
          /bi-directional/,
        ],
        [
          'a device of another org',
          async () => apply({ assetId: otherOrgDevice.assetId }, { csr: await csr(keys.rsa, uniqueCn('foreign')) }),
          11404,
        ],
        [
          'a device of another org by productKey + deviceKey',
          async () =>
            apply(
              { productKey: otherOrgDevice.productKey, deviceKey: otherOrgDevice.deviceKey },
              { csr: await csr(keys.rsa, uniqueCn('foreign2')) },
            ),
          11404,
        ],
        [
          'renew a certSn bound to another device',
          async () => certificates(a, 'POST', 'renew', victim, { certSn: Number(taken.certSN) }),
          11833,
        ],
        [
          'revoke a certSn bound to another device',
          async () => certificates(a, 'POST', 'revoke', victim, { certSn: Number(taken.certSN), reason: 0 }),
          11833,
        ],
        [
          "renew another org's certificate",
          async () => certificates(a, 'POST', 'renew', victim, { certSn: Number(otherOrgCert.data.certSN) }),
          99404,
        ],
        [
          "revoke another org's certificate",
          async () => certificates(a, 'POST', 'revoke', victim, { certSn: Number(otherOrgCert.data.certSN), reason: 0 }),
          99404,
        ],
        [
          "renew another org's certificate from that org's device, asked by the wrong org",
          async () => certificates(a, 'POST', 'renew', { assetId: otherOrgDevice.assetId }, { certSn: Number(otherOrgCert.data.certSN) }),
          11404,
        ],
        ['renew an unknown certSn', async () => certificates(a, 'POST', 'renew', victim, { certSn: 12345 }), 99404],
        ['renew without certSn', async () => certificates(a, 'POST', 'renew', victim, {}), 99400],
        [
          'renew a revoked certificate',
          async () => certificates(a, 'POST', 'renew', dev('revoked'), { certSn: Number((await list(dev('revoked')))[0]!.certSN) }),
          99400,
        ],
        [
          'renew with validDay above the maximum',
          async () => certificates(a, 'POST', 'renew', victim, { certSn: Number(bystanderCert.certSN), validDay: 400 }),
          99400,
        ],
        [
          'revoke with reason 2 (not offered by EnOS)',
          async () => certificates(a, 'POST', 'revoke', victim, { certSn: Number(bystanderCert.certSN), reason: 2 }),
          99400,
        ],
        [
          'revoke with reason 10',
          async () => certificates(a, 'POST', 'revoke', victim, { certSn: Number(bystanderCert.certSN), reason: 10 }),
          99400,
        ],
        ['list without paging limits', async () => certificates(a, 'GET', 'list', { pageSize: '201' }), 99400],
      ];
      for (const [what, call, code, msg] of cases) {
        const r = await call();
        expect(r.code, `${what}: ${r.msg}`).toBe(code);
        if (msg) expect(r.msg, what).toMatch(msg);
      }

      expect({ a: await orgTotal(a), b: await orgTotal(b) }).toEqual(before);
      // the certificates that were aimed at are untouched
      expect((await list(victim)).map((c) => [c.certSN, c.certStatus])).toEqual([[bystanderCert.certSN, 0]]);
      expect((await list(dev('rsa')))[0]).toMatchObject({ certSN: taken.certSN, certStatus: 0 });
      expect((await list({ assetId: otherOrgDevice.assetId }, b))[0]).toMatchObject({ certSN: otherOrgCert.data.certSN, certStatus: 0 });
    });

    it("keeps each org's certificates to itself: the org-wide list and a device's list", async () => {
      const listedA = (await certificates(a, 'GET', 'list', { pageSize: '200' })).data as Listed[];
      const listedB = (await certificates(b, 'GET', 'list', { pageSize: '200' })).data as Listed[];
      expect(listedA.length).toBeGreaterThan(5);
      expect(listedB.map((c) => c.assetId)).toEqual([otherOrgDevice.assetId]);
      const snA = new Set(listedA.map((c) => c.certSN));
      expect(listedB.some((c) => snA.has(c.certSN))).toBe(false);
      expect((await certificates(b, 'GET', 'list', dev('rsa'))).code).toBe(11404);
    });

    it('lists what a rotation renews with expiringWithinDays, org-wide and page by page', async () => {
      const soon = (await apply(dev('expiring'), { csr: await csr(keys.rsa, uniqueCn('expiring')), validDay: 10 })).data;
      const due = async (q: Record<string, string> = {}) =>
        ((await certificates(a, 'GET', 'list', { expiringWithinDays: '30', pageSize: '200', ...q })).data as Listed[]).map((c) => c.certSN);
      // 10-day certificates are due; the 200-day ones are not; the 30-day one of "renewed" was renewed already
      expect(await due()).toEqual([soon.certSN]);
      expect(await due({ expiringWithinDays: '5' })).toEqual([]);
      expect(await due(dev('expiring'))).toEqual([soon.certSN]);

      const all = await certificates(a, 'GET', 'list', { pageNo: '2', pageSize: '3' });
      expect(all.code).toBe(0);
      expect(all.pagination).toMatchObject({ pageNo: 2, pageSize: 3 });
      expect((all.data as Listed[]).length).toBeLessThanOrEqual(3);
      expect(all.pagination!.totalSize).toBe(await orgTotal(a));

      const renewed = await certificates(a, 'POST', 'renew', dev('expiring'), { certSn: Number(soon.certSN) });
      expect(renewed.code, renewed.msg).toBe(0);
      expect(await due()).toEqual([]);
    });

    it('`edgehub certificate rotate --within-days` renews what is due through the REST API, once', async () => {
      const soon = (await apply(dev('rotated'), { csr: await csr(keys.p256, uniqueCn('rotated')), issueAuthority: 'ECC', validDay: 7 }))
        .data;
      const configDir = await mkdtemp(join(tmpdir(), 'edgehub-certs-cli-'));
      const configPath = join(configDir, 'credentials.json');
      await writeFile(
        configPath,
        JSON.stringify({ profiles: { default: { url: h.baseUrl, orgId: a.orgId, accessKey: a.accessKey, accessSecret: a.accessSecret } } }),
        { mode: 0o600 },
      );
      const cli = (args: string[]) => cliRunner(configPath).run(args);
      try {
        const dry = await cli(['--json', 'certificate', 'rotate', '--within-days', '30', '--dry-run']);
        expect(dry.code, dry.stderr).toBe(0);
        expect((JSON.parse(dry.stdout) as { due: { certSN: string }[] }).due.map((c) => c.certSN)).toEqual([soon.certSN]);

        const rotate = await cli(['--json', 'certificate', 'rotate', '--within-days', '30']);
        expect(rotate.code, rotate.stderr).toBe(0);
        const report = JSON.parse(rotate.stdout) as { renewed: { from: string; to: string; deviceKey: string }[]; failed: unknown[] };
        expect(report.failed).toEqual([]);
        expect(report.renewed).toMatchObject([{ from: soon.certSN, deviceKey: 'rotated' }]);
        // renewed like an EnOS renew without validDay: the product's defaultValidDay (200)
        const [fresh, old] = await list(dev('rotated'));
        expect(fresh!.certSN).toBe(report.renewed[0]!.to);
        expect(old!.certSN).toBe(soon.certSN);
        expect(Math.round((fresh!.expireDate - fresh!.effectiveDate) / 86_400_000)).toBe(200);

        const [second, listed] = await Promise.all([
          cli(['--json', 'certificate', 'rotate', '--within-days', '30']),
          cli(['certificate', 'list', '--product', productKey, '--key', 'rotated']),
        ]);
        expect((JSON.parse(second.stdout) as { renewed: unknown[] }).renewed).toEqual([]);
        expect(listed.code, listed.stderr).toBe(0);
        const [header, ...rows] = listed.stdout.trimEnd().split('\n');
        expect(header).toMatch(/^CERT SN\s+DEVICE\s+STATUS\s+CA\s+ISSUED\s+EXPIRES\s+SUBJECT/);
        expect(rows).toHaveLength(2);
        expect(rows.every((row) => /\svalid\s+ECC\s/.test(row))).toBe(true);
      } finally {
        await rm(configDir, { recursive: true, force: true });
      }
    });
    it('issue 9 item 10: a CN is unique per org only, renew keeps the CN, revoke takes query parameters alone, the root publishes a CRL', async () => {
      // another org may use a CN this org has (on main: 99400 Duplicate subject)
      const cn = uniqueCn('org-scoped');
      const mine = await apply(dev('named'), { csr: await csr(keys.p256, cn), issueAuthority: 'ECC' });
      expect(mine.code, mine.msg).toBe(0);
      const theirs = await apply(
        { productKey: otherProductKey, deviceKey: sameNameDevice.deviceKey },
        { csr: await csr(keys.p256, cn), issueAuthority: 'ECC' },
        b,
      );
      expect(theirs.code, theirs.msg).toBe(0);

      // a renewal that changes the CN is refused and issues nothing
      const count = await orgTotal(a);
      const renamed = await certificates(a, 'POST', 'renew', dev('named'), {
        certSn: Number(mine.data.certSN),
        csr: await csr(keys.p256, uniqueCn('renamed')),
      });
      expect(renamed.code).toBe(99400);
      expect(renamed.msg).toMatch(/keeps the CN/);
      expect(await orgTotal(a)).toBe(count);

      // EnOS documents certSn and reason as query parameters: no body at all
      const revoked = await certificates(a, 'POST', 'revoke', { ...dev('named'), certSn: mine.data.certSN, reason: '5' });
      expect(revoked, JSON.stringify(revoked)).toMatchObject({ code: 0, data: null });
      expect((await list(dev('named'))).find((c) => c.certSN === mine.data.certSN)).toMatchObject({ certStatus: 1, revokerReason: '5' });

      // the root's CRL, so a full-chain check completes
      const rootCrl = await fetch(`${h.baseUrl}/crl/root.crl`);
      expect(rootCrl.status).toBe(200);
      const rootCrlFile = join(dir, 'root.crl');
      await writeFile(rootCrlFile, Buffer.from(await rootCrl.arrayBuffer()));
      const rootPem = join(dir, 'root-for-crl.pem');
      await writeFile(rootPem, theirs.data.caCert);
      expect((await run('openssl', ['crl', '-inform', 'DER', '-in', rootCrlFile, '-CAfile', rootPem, '-noout'])).out).toMatch(/verify OK/);
    });
  },
);
