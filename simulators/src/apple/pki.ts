// @peculiar/x509 resolves its ASN.1 converters through tsyringe, which needs the Reflect polyfill first.
import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as never);

const ec = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 86_400_000;

export interface Identity {
  certPem: string;
  keyPem: string;
  certDer: Buffer;
  privateKey: webcrypto.CryptoKey;
}

export interface SimCa extends Identity {
  name: string;
}

type NameAttrs = Record<string, string>;

function toName(attrs: NameAttrs): x509.Name {
  return new x509.Name(Object.entries(attrs).map(([k, v]) => ({ [k]: [v] })));
}

async function exportIdentity(cert: x509.X509Certificate, keys: webcrypto.CryptoKeyPair): Promise<Identity> {
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem') + '\n', keyPem, certDer: Buffer.from(cert.rawData), privateKey: keys.privateKey };
}

/**
 * Test PKI for the Apple simulators (ECDSA P-256, in process, so a fleet of thousands of phones
 * gets its identities in seconds): a CA, leaf identities it issues, and the self-signed-like MDM
 * push certificate whose subject UID is the push topic.
 */
export async function createCa(commonName: string): Promise<SimCa> {
  const keys = await webcrypto.subtle.generateKey(ec, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: toName({ CN: commonName }),
    keys: keys as never,
    signingAlgorithm: ec,
    serialNumber: randomBytes(8).toString('hex'),
    notBefore: new Date(Date.now() - day),
    notAfter: new Date(Date.now() + 3650 * day),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { name: commonName, ...(await exportIdentity(cert, keys)) };
}

export interface IssueOptions {
  subject: NameAttrs;
  /** DNS names / IPs for a server certificate. */
  dnsNames?: string[];
  ips?: string[];
  validDays?: number;
  notBefore?: Date;
  server?: boolean;
}

export async function issue(ca: SimCa, opts: IssueOptions): Promise<Identity> {
  const keys = await webcrypto.subtle.generateKey(ec, true, ['sign', 'verify']);
  const caCert = new x509.X509Certificate(ca.certDer);
  const notBefore = opts.notBefore ?? new Date(Date.now() - day);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.ExtendedKeyUsageExtension([opts.server ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
  ];
  const alt = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (alt.length) extensions.push(new x509.SubjectAlternativeNameExtension(alt));
  const cert = await x509.X509CertificateGenerator.create({
    subject: toName(opts.subject),
    issuer: caCert.subjectName,
    publicKey: keys.publicKey as never,
    signingKey: ca.privateKey as never,
    signingAlgorithm: ec,
    serialNumber: randomBytes(8).toString('hex'),
    notBefore,
    notAfter: new Date(notBefore.getTime() + (opts.validDays ?? 365) * day),
    extensions,
  });
  return exportIdentity(cert, keys);
}

/** The OID of the subject attribute that carries an MDM push topic (userId). */
export const uidOid = '0.9.2342.19200300.100.1.1';

/** An MDM push certificate for `topic`, as Apple's portal would issue it (here by the sim CA). */
export function issuePushCertificate(ca: SimCa, topic: string, validDays = 365, notBefore?: Date): Promise<Identity> {
  return issue(ca, { subject: { [uidOid]: topic, CN: `APSP:${topic.split('.').pop()}` }, validDays, ...(notBefore ? { notBefore } : {}) });
}
