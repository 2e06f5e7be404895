// @peculiar/x509 resolves its ASN.1 converters through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { writeFileAtomically } from '@edgehub/shared/secret-file';
import type { CertificateOperations, IssueAuthority } from '@edgehub/certificate-service';

// Node's WebCrypto; our lib settings have no DOM types, hence the cast.
x509.cryptoProvider.set(webcrypto as never);

/** One key and its chain (leaf first); the TLS listener serves whichever the client can use. */
export interface ServerKeyPair {
  key: string;
  cert: string;
}

export interface ServerTlsMaterial {
  /** ECDSA first, then RSA (a TLS 1.2 client limited to ECDHE-RSA suites gets the RSA one). */
  pairs: ServerKeyPair[];
  /** The file clients pass as their CA (`--cafile`): the hub's root CA, or the certificate itself when self-signed or operator-supplied. */
  caPath: string;
  /** The earliest notAfter among the pairs. */
  notAfter: Date;
}

/** The part of the certificate service that issues the listener's certificates. */
export type ServerCertificateIssuer = Pick<CertificateOperations, 'issueServerCertificate'>;

const DAY_MS = 86_400_000;
/** docs/SECURITY.md "Certificates": re-issued when less than this is left. */
export const SERVER_CERT_RENEW_BEFORE_MS = 30 * DAY_MS;
/** How often the remaining validity is checked. */
export const SERVER_CERT_CHECK_MS = 12 * 3_600_000;

const algorithms = {
  ECC: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  RSA: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
} as const;
const fileNames = { ECC: 'server-ecdsa', RSA: 'server-rsa' } as const;

/**
 * The MQTT TLS listener's certificates (docs/SECURITY.md "Certificates"):
 * - operator-supplied PEM files (HUB_MQTT_TLS_CERT/KEY) when configured: used as they are;
 * - else, with a certificate service: an ECDSA P-256 and an RSA-2048 certificate issued by the hub's
 *   own CA (the root devices get as `caCert`), kept in `$HUB_DATA_DIR/tls/` (keys 0600) with the root
 *   as `tls/ca.crt`, and re-issued when less than 30 days are left or the host names changed;
 * - else (certificate service off): a self-signed ECDSA certificate, `tls/server.crt`.
 */
export class ServerCertificates {
  private timer: NodeJS.Timeout | undefined;
  private readonly renewed = new Set<(material: ServerTlsMaterial) => void>();
  private checking: Promise<boolean> | undefined;

  private constructor(
    private current: ServerTlsMaterial,
    private readonly o: ServerCertificatesOptions,
  ) {}

  static async open(o: ServerCertificatesOptions): Promise<ServerCertificates> {
    if (o.certFile && o.keyFile) {
      const material = {
        pairs: [{ cert: await readFile(o.certFile, 'utf8'), key: await readFile(o.keyFile, 'utf8') }],
        caPath: o.certFile,
        notAfter: new Date(8.64e15),
      };
      return new ServerCertificates(material, o);
    }
    if (!o.issuer) return new ServerCertificates(await selfSigned(o.dataDir, o.hostnames), o);
    const keeper = new ServerCertificates(
      (await loadIssued(o.dataDir, o.hostnames, Date.now())) ?? (await issue(o.issuer, o.dataDir, o.hostnames)),
      o,
    );
    return keeper;
  }

  get material(): ServerTlsMaterial {
    return this.current;
  }

  /** Checks every SERVER_CERT_CHECK_MS (issued certificates only); `listener` hears each re-issue. */
  start(listener: (material: ServerTlsMaterial) => void): void {
    this.renewed.add(listener);
    if (!this.o.issuer || this.timer) return;
    this.timer = setInterval(() => {
      this.check().catch((err: unknown) =>
        this.o.log?.(
          `TLS server certificate: re-issuing failed (kept the current one, retried at the next check): ${err instanceof Error ? err.message : String(err)}`,
        ),
      );
    }, this.o.checkMs ?? SERVER_CERT_CHECK_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Re-issues when less than 30 days are left at `now`; resolves with whether it did. */
  check(now = Date.now()): Promise<boolean> {
    this.checking ??= (async () => {
      const issuer = this.o.issuer;
      if (!issuer || this.current.notAfter.getTime() - now > SERVER_CERT_RENEW_BEFORE_MS) return false;
      this.current = await issue(issuer, this.o.dataDir, this.o.hostnames);
      for (const l of this.renewed) l(this.current);
      return true;
    })().finally(() => {
      this.checking = undefined;
    });
    return this.checking;
  }
}

export interface ServerCertificatesOptions {
  dataDir: string;
  certFile?: string;
  keyFile?: string;
  hostnames: string[];
  /** The certificate service; absent when it is off. */
  issuer?: ServerCertificateIssuer;
  checkMs?: number;
  log?: (message: string) => void;
}

async function loadIssued(dataDir: string, hostnames: string[], now: number): Promise<ServerTlsMaterial | undefined> {
  const dir = join(dataDir, 'tls');
  try {
    const pairs: ServerKeyPair[] = [];
    let notAfter = Infinity;
    for (const authority of ['ECC', 'RSA'] as const) {
      const [cert, key] = await Promise.all([
        readFile(join(dir, `${fileNames[authority]}.crt`), 'utf8'),
        readFile(join(dir, `${fileNames[authority]}.key`), 'utf8'),
      ]);
      const leaf = new x509.X509Certificate(cert);
      const names = new Set(sanNames(leaf));
      if (!hostnames.every((h) => names.has(h))) return undefined;
      notAfter = Math.min(notAfter, leaf.notAfter.getTime());
      pairs.push({ cert, key });
    }
    if (notAfter - now <= SERVER_CERT_RENEW_BEFORE_MS) return undefined;
    await readFile(join(dir, 'ca.crt'), 'utf8');
    return { pairs, caPath: join(dir, 'ca.crt'), notAfter: new Date(notAfter) };
  } catch {
    return undefined; // none yet, or unreadable: issue new ones
  }
}

async function issue(issuer: ServerCertificateIssuer, dataDir: string, hostnames: string[]): Promise<ServerTlsMaterial> {
  const dir = join(dataDir, 'tls');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const pairs: ServerKeyPair[] = [];
  let notAfter = Infinity;
  let root = '';
  // Both key pairs and their requests first, at the same time: on a first start the hub begins this
  // while its new CA is still being made (hub.ts), so the RSA prime search runs beside the CA's
  // instead of after it (docs/BENCHMARKS.md, "Start-up").
  const requests = await Promise.all(
    (['ECC', 'RSA'] as IssueAuthority[]).map(async (authority) => {
      const alg = algorithms[authority];
      const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: `CN=${hostnames[0] ?? 'localhost'}`,
        keys: keys as never,
        signingAlgorithm: alg,
      });
      return { authority, keys, csr };
    }),
  );
  for (const { authority, keys, csr } of requests) {
    const issued = await issuer.issueServerCertificate({ csrPem: csr.toString('pem'), hostnames, issueAuthority: authority });
    const key = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY') + '\n';
    await replaceFile(join(dir, `${fileNames[authority]}.key`), key, 0o600);
    await replaceFile(join(dir, `${fileNames[authority]}.crt`), issued.chainPem, 0o644);
    pairs.push({ key, cert: issued.chainPem });
    notAfter = Math.min(notAfter, issued.notAfter.getTime());
    root = issued.rootCertPem;
  }
  await replaceFile(join(dir, 'ca.crt'), root.trimEnd() + '\n', 0o644);
  return { pairs, caPath: join(dir, 'ca.crt'), notAfter: new Date(notAfter) };
}

/**
 * Written beside, fsync'd and renamed into place by the shared secret-file writer
 * (docs/ARCHITECTURE.md, "Secrets on disk"): a reader never sees half a key, and a crash leaves
 * the old file or the new one.
 */
async function replaceFile(path: string, data: string, mode: number): Promise<void> {
  await writeFileAtomically(path, data, { mode });
}

async function selfSigned(dataDir: string, hostnames: string[]): Promise<ServerTlsMaterial> {
  const dir = join(dataDir, 'tls');
  const certPath = join(dir, 'server.crt');
  const keyPath = join(dir, 'server.key');
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const parsed = new x509.X509Certificate(cert);
    const names = new Set(sanNames(parsed));
    if (parsed.notAfter.getTime() - Date.now() > SERVER_CERT_RENEW_BEFORE_MS && hostnames.every((h) => names.has(h)))
      return { pairs: [{ cert, key }], caPath: certPath, notAfter: parsed.notAfter };
  } catch {
    // none yet, or unreadable: make a new one
  }
  const alg = algorithms.ECC;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
      .toString('hex')
      .replace(/^[89a-f]/, '1'),
    name: 'CN=edgehub MQTT server',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * DAY_MS),
    signingAlgorithm: alg,
    keys: keys as never,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        hostnames.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })),
      ),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n';
  const certPem = cert.toString('pem') + '\n';
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await replaceFile(keyPath, key, 0o600);
  await replaceFile(certPath, certPem, 0o644);
  return { pairs: [{ key, cert: certPem }], caPath: certPath, notAfter: cert.notAfter };
}

function sanNames(cert: x509.X509Certificate): string[] {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  return san ? san.names.items.map((n) => n.value) : [];
}
