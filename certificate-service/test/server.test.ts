import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertificateError,
  connectCertificateService,
  responseSignature,
  signatureHeaders,
  signRequest,
  startCertificateServer,
  type RunningCertificateServer,
} from '../src/index.js';
import { binding, failIfMissing, inCi, missingMessage, missingTools, opensslCsr, opensslKey, subject, tempDir } from './helpers.js';

/** The standalone server: public CA/CRL downloads, and a hub API that is never open. */
const missing = missingTools('openssl');
const secret = 'f'.repeat(16) + '-hub-secret-for-tests-0123456789';
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe.skipIf(missing.length > 0 && !inCi)(
  `the standalone certificate server${missing.length > 0 ? ` (skipped: ${missingMessage(missing)})` : ''}`,
  () => {
    let dir: Awaited<ReturnType<typeof tempDir>>;
    let server: RunningCertificateServer;
    let csrPem: string;
    const logLines: string[] = [];

    beforeAll(async () => {
      failIfMissing(missing);
      dir = await tempDir();
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          logLines.push(chunk.toString('utf8'));
          done();
        },
      });
      server = await startCertificateServer({
        dataDir: join(dir.path, 'data'),
        port: 0,
        sharedSecret: [secret, 'r'.repeat(40)],
        httpLogger: { level: 'trace', stream },
      });
      csrPem = await opensslCsr(await opensslKey(dir.path, 'p256', { curve: 'prime256v1' }), subject('server-device'));
    });
    afterAll(async () => {
      await server?.close();
      await dir?.remove();
    });

    const issueBody = () => JSON.stringify({ csrPem, issueAuthority: 'ECC', binding: binding() });
    const post = (path: string, body: string, headers: Record<string, string>) =>
      fetch(`${server.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

    it('serves the CA certificates and CRLs to anyone', async () => {
      const ca = await server.service.caCertificates();
      const text = async (path: string) => {
        const res = await fetch(`${server.url}${path}`);
        expect(res.status, path).toBe(200);
        return res.text();
      };
      expect(await text('/ca/root.pem')).toBe(ca.rootPem);
      expect(await text('/enos/CA/cacert')).toBe(ca.rootPem);
      expect(await text('/ca/RSA.pem')).toBe(ca.authorities.RSA.certPem);
      expect(await text('/ca/chain/ECC.pem')).toBe(ca.authorities.ECC.chainPem);
      const crl = await fetch(`${server.url}/crl/ECC.crl`);
      expect(crl.status).toBe(200);
      expect(Buffer.from(await crl.arrayBuffer())).toEqual(Buffer.from((await server.service.crl('ECC')).der));
      expect((await fetch(`${server.url}/crl/DSA.crl`)).status).toBe(404);
      expect((await fetch(`${server.url}/ca/../data/ca/RSA.key`)).status).toBe(404);
    });

    it('serves the same public CA routes as the hub (one implementation, http/public-routes.ts)', async () => {
      const ca = await server.service.caCertificates();
      const get = async (path: string) => {
        const res = await fetch(`${server.url}${path}`);
        expect(res.status, path).toBe(200);
        return Buffer.from(await res.arrayBuffer());
      };
      expect((await get('/enos/CA/cacert/RSA')).toString()).toBe(ca.authorities.RSA.chainPem);
      expect((await get('/enos/CA/cacert/ecc')).toString()).toBe(ca.authorities.ECC.chainPem);
      expect(await get('/enos/CA/crl/RSA')).toEqual(await get('/crl/RSA.crl'));
      const missing = await fetch(`${server.url}/enos/CA/cacert/DSA`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({ code: 'cert.not_found', message: 'No issue authority DSA: RSA or ECC' });
      expect((await fetch(`${server.url}/crl/RSA`)).status).toBe(404);
    });

    it('refuses unsigned, forged, tampered, stale and replayed hub calls, and issues nothing', async () => {
      const count = await server.service.store.count();
      const body = issueBody();
      const path = '/v1/certificates/issue';

      expect((await post(path, body, {})).status).toBe(401);
      expect((await post(path, body, signRequest('x'.repeat(40), 'POST', path, body))).status).toBe(401); // wrong secret
      expect((await post(path, body, signRequest(secret, 'POST', path, issueBody()))).status).toBe(401); // signed another body
      expect((await post(path, body, signRequest(secret, 'POST', '/v1/certificates/renew', body))).status).toBe(401); // another path
      expect((await post(path, body, signRequest(secret, 'POST', path, body, Date.now() - 5 * 60_000))).status).toBe(401); // stale
      const signed = signRequest(secret, 'POST', path, body);
      const truncated = { ...signed, [signatureHeaders.signature]: signed[signatureHeaders.signature]!.slice(0, 10) };
      expect((await post(path, body, truncated)).status).toBe(401);
      const unauthorized = await post(path, body, {});
      expect(await unauthorized.json()).toEqual({ code: 'auth.unauthorized', message: 'request signature missing or invalid' });

      const first = await post(path, body, signed);
      expect(first.status).toBe(200);
      expect(first.headers.get(signatureHeaders.response)).toMatch(/^[0-9a-f]{64}$/);
      expect((await post(path, body, signed)).status).toBe(401); // replay of a good request
      expect(await server.service.store.count()).toBe(count + 1);

      for (const read of ['/v1/certificates', '/v1/revoked', '/v1/ca', `/v1/certificates/1`]) {
        expect((await fetch(`${server.url}${read}`)).status, read).toBe(401);
      }
    });

    it('accepts every configured secret (rotation) through the client; a wrong one is auth.unauthorized', async () => {
      const current = connectCertificateService({ baseUrl: server.url, sharedSecret: secret });
      const next = connectCertificateService({ baseUrl: server.url, sharedSecret: 'r'.repeat(40) });
      expect((await current.caCertificates()).subjectRules).toEqual({ C: 'CN', ST: 'Shanghai', O: 'EnOS' });
      expect(await next.revokedSerials()).toEqual([]);
      const wrong = connectCertificateService({ baseUrl: server.url, sharedSecret: 'w'.repeat(40) });
      const err = await wrong.list().catch((e: unknown) => e);
      expect((err as CertificateError).code).toBe('auth.unauthorized');
      // Domain refusals travel with their code.
      const refused = await current.issue({ csrPem: 'not a csr', binding: binding() }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(CertificateError);
      expect((refused as CertificateError).code).toBe('csr.not_pem');
    });

    it('rejects an answer not signed with the shared secret (a man in the middle cannot swap certificates)', async () => {
      // Something between hub and service answers 200 with a plausible body: unsigned, or signed with another secret.
      const real = await fetch(`${server.url}/v1/ca`, { headers: signRequest(secret, 'GET', '/v1/ca', '') });
      const body = await real.text();
      for (const signature of [undefined, responseSignature('m'.repeat(40), { nonce: 'n'.repeat(32), status: 200, body })]) {
        const mitm = createServer((_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', ...(signature ? { [signatureHeaders.response]: signature } : {}) });
          res.end(body);
        });
        await new Promise<void>((r) => mitm.listen(0, '127.0.0.1', r));
        try {
          const { port } = mitm.address() as AddressInfo;
          const err = await connectCertificateService({ baseUrl: `http://127.0.0.1:${port}`, sharedSecret: secret })
            .caCertificates()
            .catch((e: unknown) => e);
          expect(err).toBeInstanceOf(CertificateError);
          expect((err as CertificateError).code).toBe('remote.failed');
        } finally {
          await new Promise((r) => mitm.close(r));
        }
      }
    });

    it('never logs the secrets or signatures', () => {
      const logs = logLines.join('');
      expect(logs).toContain('unauthenticated'); // the refusals above were logged …
      expect(logs).not.toContain(secret); // … without the secret
      expect(logs).not.toContain('r'.repeat(40));
      expect(logs).not.toMatch(/[0-9a-f]{64}/); // nor any signature
    });

    it('runs standalone from main.ts, and refuses to start without a secret', async () => {
      const dataDir = join(dir.path, 'main');
      const start = (env: Record<string, string>) =>
        spawn(process.execPath, ['--import', 'tsx', 'certificate-service/src/main.ts'], {
          cwd: repoRoot,
          env: { PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn', CERT_SERVICE_DATA_DIR: dataDir, CERT_SERVICE_PORT: '0', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      const noSecret = start({});
      let stderr = '';
      noSecret.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      expect(await new Promise((r) => noSecret.on('exit', r))).toBe(1);
      expect(stderr).toMatch(/CERT_SERVICE_SECRET/);

      const child = start({ CERT_SERVICE_SECRET: secret });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const m = /CA certs\s+(http:\/\/[^/\s]+)\/ca\/root\.pem/.exec(out);
            if (m) resolve(m[1]!);
          });
          child.on('exit', (code) => reject(new Error(`main.ts exited ${code}: ${out}`)));
        });
        expect((await fetch(`${url}/healthz`)).status).toBe(200);
        expect(await connectCertificateService({ baseUrl: url, sharedSecret: secret }).list()).toEqual([]);
        expect((await fetch(`${url}/v1/certificates`)).status).toBe(401);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.on('exit', r));
      }
    });
  },
);
