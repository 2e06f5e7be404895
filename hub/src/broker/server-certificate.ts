// @peculiar/x509 resolves its ASN.1 converters through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeFileAtomically, writeSecretFile } from '@edgehub/shared/secret-file';

// Node's WebCrypto; our lib settings have no DOM types, hence the cast.
x509.cryptoProvider.set(webcrypto as never);

export interface ServerTlsMaterial {
  key: string;
  cert: string;
  /** Where the certificate is, for clients that need it as their CA (`--cafile`). */
  certPath: string;
}

const RENEW_BEFORE_MS = 30 * 86_400_000;

/**
 * The TLS listener's certificate: operator-supplied PEM files when configured; otherwise a
 * self-signed ECDSA P-256 certificate made once and kept in the data directory (key 0600) until
 * the certificate service issues the real one.
 */
export async function serverTlsMaterial(opts: { dataDir: string; certFile?: string; keyFile?: string; hostnames: string[] }): Promise<ServerTlsMaterial> {
  if (opts.certFile && opts.keyFile) {
    return { cert: await readFile(opts.certFile, 'utf8'), key: await readFile(opts.keyFile, 'utf8'), certPath: opts.certFile };
  }
  const dir = join(opts.dataDir, 'tls');
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const parsed = new x509.X509Certificate(cert);
    const names = new Set(sanNames(parsed));
    if (parsed.notAfter.getTime() - Date.now() > RENEW_BEFORE_MS && opts.hostnames.every((h) => names.has(h))) return { cert, key, certPath };
  } catch {
    // none yet, or unreadable: make a new one
  }
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: 'CN=edgehub MQTT server',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 86_400_000),
    signingAlgorithm: alg,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(opts.hostnames.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }))),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  const certPem = cert.toString('pem');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first, certificate last, each atomic and fsync'd (docs/ARCHITECTURE.md, "Secrets on disk").
  await writeSecretFile(keyPath, key + '\n');
  await writeFileAtomically(certPath, certPem + '\n', { mode: 0o644 });
  return { key, cert: certPem, certPath };
}

function sanNames(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return san ? san.names.items.map((n) => n.value) : [];
}
