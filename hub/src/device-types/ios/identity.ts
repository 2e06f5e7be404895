import { X509Certificate, hash as digest, verify as cryptoVerify } from 'node:crypto';
import { CmsFormatError, issuerAndSerial, readCmsSignature, type CmsSignerParts } from './cms-signature.js';
import { mdmErrors } from './errors.js';

const digestNames: Record<string, string> = {
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
  '1.3.14.3.2.26': 'sha1',
};

/** The device identity of one request: its certificate and the pin kept per enrollment. */
export interface DeviceIdentity {
  certificate: X509Certificate;
  /** sha256 over the certificate's DER, hex (the pin stored at Authenticate). */
  sha256: string;
}

/**
 * Verifies device identities against the CAs that issue MDM identity certificates (the hub's own
 * certificate service, or an operator's SCEP CA). Two ways in, as docs/DEVICE-MANAGEMENT.md
 * ("Apple: device identity") describes: the `Mdm-Signature` header (a detached CMS signature over
 * the exact body bytes, when the profile sets SignMessage) or the TLS client certificate.
 */
export class IdentityVerifier {
  private readonly anchors: X509Certificate[];
  /** Certificates already parsed and chained, by the sha256 of their DER (a device signs every request with the same one). */
  private readonly verified = new Map<string, { cert: X509Certificate; notBefore: number; notAfter: number }>();
  private static readonly cacheLimit = 100_000;

  constructor(
    trustedCaPems: string[],
    private readonly clock: () => number = Date.now,
  ) {
    this.anchors = trustedCaPems.flatMap(splitPem).map((pem) => new X509Certificate(pem));
  }

  /**
   * From the Mdm-Signature header; throws a 401 MdmProtocolError when anything is off. The CMS
   * structure is read by a small DER walker (cms-signature.ts: a schema-driven ASN.1 library was
   * the largest cost of a check-in, docs/BENCHMARKS.md); the signature itself is checked with
   * node:crypto, over the signed attributes (whose messageDigest must be the body's digest) or
   * over the body when there are none.
   */
  async fromMdmSignature(headerValue: string, body: Buffer): Promise<DeviceIdentity> {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(headerValue) || headerValue.length > 64 * 1024)
      throw mdmErrors.identityInvalid('Mdm-Signature is not base64');
    const der = Buffer.from(headerValue, 'base64');
    let parts: CmsSignerParts;
    try {
      parts = readCmsSignature(der);
    } catch (err) {
      if (err instanceof CmsFormatError) throw mdmErrors.identityInvalid('Mdm-Signature is not a CMS signed-data structure');
      throw err;
    }
    if (parts.signerCount !== 1) throw mdmErrors.identityInvalid('Mdm-Signature must have exactly one signer');
    const sid = parts.sid;
    const signerDer = sid
      ? parts.certificates.find((c) => {
          try {
            const id = issuerAndSerial(c);
            return id.serial.equals(sid.serial) && id.issuer.equals(sid.issuer);
          } catch {
            return false;
          }
        })
      : undefined;
    if (!signerDer) throw mdmErrors.identityInvalid('Mdm-Signature carries no signer certificate');
    const hash = digestNames[parts.digestOid];
    if (!hash) throw mdmErrors.identityInvalid('Mdm-Signature uses an unsupported digest');
    let signedBytes: Buffer = body;
    if (parts.signedAttrs) {
      const expected = parts.signedAttrs.messageDigest;
      if (!expected || !expected.equals(digest(hash, body, 'buffer')))
        throw mdmErrors.identityInvalid('Mdm-Signature does not verify over the body');
      // The signature covers the attributes DER-encoded as a SET (not with their [0] tag), in the
      // order received: a signer that did not sort them fails here, as it would anywhere.
      signedBytes = parts.signedAttrs.set;
    }
    // One-shot digests (crypto.hash): a Hash object per digest was a visible cost per request.
    const signerSha256 = digest('sha256', signerDer, 'hex');
    const signer = this.verified.get(signerSha256)?.cert ?? new X509Certificate(signerDer);
    const ok = (() => {
      try {
        return cryptoVerify(hash, signedBytes, signer.publicKey, parts.signature);
      } catch {
        return false;
      }
    })();
    if (!ok) throw mdmErrors.identityInvalid('Mdm-Signature does not verify over the body');
    if (parts.certificates.length === 1) return this.checkChain(signer, [], signerSha256);
    const intermediates = parts.certificates.filter((c) => c !== signerDer).map((c) => new X509Certificate(c));
    return this.checkChain(signer, intermediates, signerSha256);
  }

  /**
   * From the TLS client certificate (DER) of the connection. A certificate already chained is
   * found by the sha256 of its DER (its validity period still checked per request), so a device
   * on a kept-alive connection costs a hash, not a parse and a signature check.
   */
  async fromClientCertificate(der: Buffer): Promise<DeviceIdentity> {
    const sha256 = digest('sha256', der, 'hex');
    const hit = this.verified.get(sha256);
    const now = this.clock();
    if (hit && hit.notBefore <= now && now <= hit.notAfter) return { certificate: hit.cert, sha256 };
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      throw mdmErrors.identityInvalid('client certificate cannot be parsed');
    }
    return this.checkChain(cert, [], sha256);
  }

  private checkChain(leaf: X509Certificate, pool: X509Certificate[], sha256 = digest('sha256', leaf.raw, 'hex')): DeviceIdentity {
    const now = this.clock();
    const hit = this.verified.get(sha256);
    if (hit && hit.cert === leaf && hit.notBefore <= now && now <= hit.notAfter) return { certificate: leaf, sha256 };
    const identity = this.walkChain(leaf, pool, now, sha256);
    if (this.verified.size >= IdentityVerifier.cacheLimit) this.verified.clear();
    this.verified.set(sha256, { cert: leaf, notBefore: Date.parse(leaf.validFrom), notAfter: Date.parse(leaf.validTo) });
    return identity;
  }

  private walkChain(leaf: X509Certificate, pool: X509Certificate[], now: number, sha256: string): DeviceIdentity {
    let current = leaf;
    for (let depth = 0; depth < 5; depth++) {
      if (!withinValidity(current, now)) throw mdmErrors.identityInvalid('certificate outside its validity period');
      const anchor = this.anchors.find((a) => current.checkIssued(a) && current.verify(a.publicKey));
      if (anchor) {
        if (!withinValidity(anchor, now)) throw mdmErrors.identityInvalid('issuing CA outside its validity period');
        return { certificate: leaf, sha256 };
      }
      const next = pool.find((c) => c !== current && c.ca && current.checkIssued(c) && current.verify(c.publicKey));
      if (!next) break;
      current = next;
    }
    throw mdmErrors.identityInvalid('certificate not issued by a trusted CA');
  }
}

function withinValidity(cert: X509Certificate, now: number): boolean {
  return Date.parse(cert.validFrom) <= now && now <= Date.parse(cert.validTo);
}

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
