import type { IssuingCa } from './authority/load.js';
import { signingAlgorithms, x509 } from './crypto.js';
import type { ValidCsr } from './csr.js';

/**
 * The device certificate profile. Extensions are decided here and nothing the CSR requests is
 * copied (a CSR asking for CA:TRUE or extra SANs still gets this plain client leaf):
 * - basicConstraints CA:FALSE, critical;
 * - keyUsage digitalSignature, plus keyEncipherment for RSA keys (TLS 1.2 RSA key exchange), critical;
 * - extendedKeyUsage clientAuth: the certificate is for mTLS to the hub (§6), nothing else;
 * - SKI from the device key, AKI = the issuing CA's SKI (chain building);
 * - CRL distribution point: where this CA's CRL is served (§6: "Publish a CRL at the URL embedded in certs").
 * The subject is the CSR's DER, byte for byte, in its own RDN order (§6: "subject copied verbatim").
 */
export async function buildLeaf(o: {
  csr: ValidCsr;
  issuer: IssuingCa;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
}): Promise<x509.X509Certificate> {
  return signLeaf({
    ...o,
    subject: o.csr.request.subjectName,
    publicKey: o.csr.request.publicKey,
    keyType: o.csr.keyType,
    purpose: x509.ExtendedKeyUsage.clientAuth,
    extra: [],
  });
}

/**
 * The hub's TLS server certificate profile: serverAuth only, the host names and addresses as SANs
 * (CN = the first one, for old clients that still read it), nothing taken from the CSR but its key.
 */
export async function buildServerLeaf(o: {
  request: x509.Pkcs10CertificateRequest;
  keyType: 'rsa' | 'ec';
  hostnames: { type: 'dns' | 'ip'; value: string }[];
  issuer: IssuingCa;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
}): Promise<x509.X509Certificate> {
  return signLeaf({
    ...o,
    subject: new x509.Name([{ CN: [o.hostnames[0]!.value] }]),
    publicKey: o.request.publicKey,
    purpose: x509.ExtendedKeyUsage.serverAuth,
    extra: [new x509.SubjectAlternativeNameExtension(o.hostnames)],
  });
}

/** What every leaf of ours carries; the two profiles differ in subject, purpose and SANs only. */
async function signLeaf(o: {
  subject: x509.Name;
  publicKey: x509.PublicKey;
  keyType: 'rsa' | 'ec';
  purpose: string;
  extra: x509.Extension[];
  issuer: IssuingCa;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string;
}): Promise<x509.X509Certificate> {
  const { issuer } = o;
  const usages = x509.KeyUsageFlags.digitalSignature | (o.keyType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : 0);
  return x509.X509CertificateGenerator.create({
    serialNumber: o.serialHex,
    subject: o.subject,
    issuer: issuer.cert.subjectName,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    publicKey: o.publicKey,
    signingKey: issuer.signingKey as never,
    signingAlgorithm: signingAlgorithms[issuer.keyType],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([o.purpose]),
      ...o.extra,
      await x509.SubjectKeyIdentifierExtension.create(o.publicKey),
      new x509.AuthorityKeyIdentifierExtension(issuer.keyId),
      new x509.CRLDistributionPointsExtension([o.crlUrl]),
    ],
  });
}
