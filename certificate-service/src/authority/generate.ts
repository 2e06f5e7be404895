import { join } from 'node:path';
import { generateKeyPair, privateKeyToPem, signingAlgorithms, x509, type CryptoKey, type KeyPair } from '../crypto.js';
import { writeDurable } from '../durable.js';
import { randomSerial } from '../serial.js';
import { caName, type CaSubject } from './names.js';

export interface CaCommonNames {
  root: string;
  RSA: string;
  ECC: string;
}

const defaultCommonNames: CaCommonNames = { root: 'EdgeHub Root CA', RSA: 'EdgeHub RSA CA', ECC: 'EdgeHub ECC CA' };

/** Backdating absorbs small clock differences between this host and the verifiers. */
const BACKDATE_MS = 5 * 60_000;

/**
 * Writes a new CA into `dir`: root.{crt,key}, RSA.{crt,key}, ECC.{crt,key}.
 *
 * The root is RSA-2048/SHA-256, like the EnOS root (§6). Devices hold this root to verify the hub,
 * and RSA verification is the one thing every TLS stack an EnOS SDK runs on supports (mbedTLS
 * builds of the C SDK may be configured without ECDSA); the root signs only two certificates, so
 * RSA's slower signing costs nothing. The "ECC" issuing CA is EC P-256 and signs ECC leaves with
 * ECDSA, the fast path for issuance (docs/PERFORMANCE-NOTES.md §4).
 */
export async function generateCaFiles(
  dir: string,
  o: { subject: CaSubject; commonNames: Partial<CaCommonNames>; rootValidityYears: number; now: Date },
): Promise<void> {
  const names = { ...defaultCommonNames, ...o.commonNames };
  const notBefore = new Date(o.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(notBefore);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + o.rootValidityYears);

  // The three key pairs are independent: OpenSSL makes them at the same time on libuv's thread
  // pool (two RSA prime searches on two cores instead of one after the other, docs/BENCHMARKS.md,
  // "Start-up"). Only the signatures have an order: the root's own first, then the issuing CAs'.
  const [rootKeys, rsaKeys, eccKeys] = await Promise.all([generateKeyPair('rsa'), generateKeyPair('rsa'), generateKeyPair('ec')]);
  const rootSki = await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(127).serialHex,
    name: caName(o.subject, names.root),
    notBefore,
    notAfter,
    signingAlgorithm: signingAlgorithms.rsa,
    keys: rootKeys as never,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      rootSki,
      new x509.AuthorityKeyIdentifierExtension(rootSki.keyId),
    ],
  });
  const issuing = (authority: 'RSA' | 'ECC', keys: KeyPair) =>
    issuingCertificate(keys, rootKeys.privateKey, root, rootSki.keyId, caName(o.subject, names[authority]), notBefore, notAfter);
  const [rsaCert, eccCert] = await Promise.all([issuing('RSA', rsaKeys), issuing('ECC', eccKeys)]);
  // Each file is written durably on its own; the caller renames the whole directory into place only
  // after all of them (authority.ts), so the order of these writes is not visible to anyone. All
  // writes end before a failure is reported: the caller then removes the directory, and no write
  // may still be creating files in it.
  const writes = await Promise.allSettled([
    writeKeyAndCert(dir, 'root', rootKeys, root),
    writeKeyAndCert(dir, 'RSA', rsaKeys, rsaCert),
    writeKeyAndCert(dir, 'ECC', eccKeys, eccCert),
  ]);
  for (const w of writes) if (w.status === 'rejected') throw w.reason;
}

/** `<name>.key` (private, 0600) and `<name>.crt`. */
async function writeKeyAndCert(dir: string, name: string, keys: KeyPair, cert: x509.X509Certificate): Promise<void> {
  await writeDurable(join(dir, `${name}.key`), await privateKeyToPem(keys.privateKey), 0o600);
  await writeDurable(join(dir, `${name}.crt`), cert.toString('pem') + '\n', 0o644);
}

async function issuingCertificate(
  keys: KeyPair,
  rootKey: CryptoKey,
  root: x509.X509Certificate,
  rootKeyId: string,
  name: x509.Name,
  notBefore: Date,
  notAfter: Date,
): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(127).serialHex,
    subject: name,
    issuer: root.subjectName,
    notBefore,
    notAfter,
    publicKey: keys.publicKey as never,
    signingKey: rootKey as never,
    signingAlgorithm: signingAlgorithms.rsa,
    extensions: [
      // pathLen 0: an issuing CA signs devices, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.AuthorityKeyIdentifierExtension(rootKeyId),
    ],
  });
}
