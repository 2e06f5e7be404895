import type { KeyObject } from 'node:crypto';
import { importPrivateKeyPem, pkijs, toBuffer, x509, type CaKeyType, type CryptoKey } from '../crypto.js';
import { readableByOthers } from '../durable.js';
import { CertificateError } from '../errors.js';
import type { Logger } from '../logger.js';
import { issueAuthorities, type IssueAuthority } from '../store/port.js';
import { attribute } from './names.js';

/** §6: a CSR's C, ST and O must equal these (read from the root certificate). */
export interface SubjectRules {
  C: string;
  ST: string;
  O: string;
}

export interface IssuingCa {
  authority: IssueAuthority;
  cert: x509.X509Certificate;
  certPem: string;
  /** This CA then the root: what a device (or `openssl verify -untrusted`) needs besides its leaf. */
  chainPem: string;
  keyType: CaKeyType;
  signingKey: CryptoKey;
  /** The same key for node:crypto, which signs the certificates (profile.ts). */
  privateKey: KeyObject;
  /** The CA certificate's subject Name, DER: the issuer of everything it signs. */
  subjectDer: Buffer;
  /** The CA certificate's subject as text, and its validity: read once (the x509 getters decode on every call). */
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** The CA's subject key identifier (hex): the AKI of everything it signs. */
  keyId: string;
}

export interface CertificateAuthority {
  source: 'generated' | 'operator';
  /** The root's key is there for a generated CA (or when the operator supplies it): it signs the root CRL. */
  root: { cert: x509.X509Certificate; certPem: string; signingKey?: CryptoKey; keyId: string };
  issuers: Record<IssueAuthority, IssuingCa>;
  subjectRules: SubjectRules;
}

export interface CaPem {
  rootCert: string;
  /** Optional: only needed to publish the root's CRL (which lists no issuing CA as revoked). */
  rootKey?: string;
  RSA: { cert: string; key: string };
  ECC: { cert: string; key: string };
}

const expectedKeyType: Record<IssueAuthority, CaKeyType> = { RSA: 'rsa', ECC: 'ec' };

export async function loadCa(
  pem: CaPem,
  source: CertificateAuthority['source'],
  where: { RSA: { key: string }; ECC: { key: string }; rootKey?: string; logger: Logger },
): Promise<CertificateAuthority> {
  const root = parseCert(pem.rootCert, 'root certificate');
  requireCa(root, 'root certificate');
  const rootSubject = pkijs.Certificate.fromBER(root.rawData).subject;
  const C = attribute(rootSubject, 'C');
  const ST = attribute(rootSubject, 'ST');
  const O = attribute(rootSubject, 'O');
  if (!C || !ST || !O) {
    throw new CertificateError(
      'ca.invalid',
      `the root certificate's subject must hold C, ST and O (CSRs are checked against them, §6); it is "${root.subject}"`,
    );
  }
  const rootPem = root.toString('pem');
  const rootSki = root.getExtension(x509.SubjectKeyIdentifierExtension);
  const rootKeyId = rootSki ? rootSki.keyId : (await x509.SubjectKeyIdentifierExtension.create(root.publicKey)).keyId;
  let rootSigningKey: CryptoKey | undefined;
  if (pem.rootKey !== undefined) {
    let key: Awaited<ReturnType<typeof importPrivateKeyPem>>;
    try {
      key = await importPrivateKeyPem(pem.rootKey);
    } catch (err) {
      throw new CertificateError('ca.invalid', `the root CA key (${where.rootKey ?? 'root key'}) is unusable: ${(err as Error).message}`);
    }
    if (!key.spki.equals(toBuffer(root.publicKey.rawData)))
      throw new CertificateError('ca.invalid', `the root CA key (${where.rootKey ?? 'root key'}) does not belong to the root certificate`);
    rootSigningKey = key.key;
  }

  const issuers = {} as Record<IssueAuthority, IssuingCa>;
  for (const authority of issueAuthorities) {
    const what = `${authority} issuing CA certificate`;
    const cert = parseCert(pem[authority].cert, what);
    requireCa(cert, what);
    if (
      !toBuffer(cert.issuerName.toArrayBuffer()).equals(toBuffer(root.subjectName.toArrayBuffer())) ||
      !(await cert.verify({ publicKey: root.publicKey, signatureOnly: true }))
    ) {
      throw new CertificateError('ca.invalid', `the ${what} is not signed by the root certificate`);
    }
    let key: Awaited<ReturnType<typeof importPrivateKeyPem>>;
    try {
      key = await importPrivateKeyPem(pem[authority].key);
    } catch (err) {
      throw new CertificateError(
        'ca.invalid',
        `the ${authority} issuing CA key (${where[authority].key}) is unusable: ${(err as Error).message}`,
      );
    }
    if (key.type !== expectedKeyType[authority]) {
      throw new CertificateError(
        'ca.invalid',
        `the "${authority}" issuing CA must have ${authority === 'RSA' ? 'an RSA' : 'an EC P-256'} key`,
      );
    }
    if (!key.spki.equals(toBuffer(cert.publicKey.rawData))) {
      throw new CertificateError(
        'ca.invalid',
        `the ${authority} issuing CA key (${where[authority].key}) does not belong to its certificate`,
      );
    }
    if (await readableByOthers(where[authority].key)) {
      where.logger.warn(`certificate service: ${where[authority].key} is readable by group/others; it should be mode 0600`);
    }
    const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const keyId = ski ? ski.keyId : (await x509.SubjectKeyIdentifierExtension.create(cert.publicKey)).keyId;
    const certPem = cert.toString('pem');
    issuers[authority] = {
      authority,
      cert,
      certPem,
      chainPem: `${certPem}\n${rootPem}\n`,
      keyType: key.type,
      signingKey: key.key,
      privateKey: key.keyObject,
      subjectDer: toBuffer(cert.subjectName.toArrayBuffer()),
      subject: cert.subject,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
      keyId,
    };
  }
  return {
    source,
    root: { cert: root, certPem: rootPem, keyId: rootKeyId, ...(rootSigningKey ? { signingKey: rootSigningKey } : {}) },
    issuers,
    subjectRules: { C, ST, O },
  };
}

function parseCert(pem: string, what: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(pem);
  } catch (err) {
    throw new CertificateError('ca.invalid', `the ${what} is not a PEM certificate: ${(err as Error).message}`);
  }
}

function requireCa(cert: x509.X509Certificate, what: string): void {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new CertificateError('ca.invalid', `the ${what} is not a CA certificate (basicConstraints CA:TRUE missing)`);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (
    ku &&
    (ku.usages & (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)) !==
      (x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign)
  ) {
    throw new CertificateError('ca.invalid', `the ${what} may not sign certificates and CRLs (keyUsage lacks keyCertSign or cRLSign)`);
  }
}
