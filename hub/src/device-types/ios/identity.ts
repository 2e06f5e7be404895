import { X509Certificate, createHash, webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';
import { mdmErrors } from './errors.js';

pkijs.setEngine('node-webcrypto', new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as never }));

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

  constructor(trustedCaPems: string[], private readonly clock: () => number = Date.now) {
    this.anchors = trustedCaPems.flatMap(splitPem).map((pem) => new X509Certificate(pem));
    if (this.anchors.length === 0) throw new Error('IdentityVerifier needs at least one trusted CA');
  }

  /** From the Mdm-Signature header; throws a 401 MdmProtocolError when anything is off. */
  async fromMdmSignature(headerValue: string, body: Buffer): Promise<DeviceIdentity> {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(headerValue) || headerValue.length > 64 * 1024) throw mdmErrors.identityInvalid('Mdm-Signature is not base64');
    const der = Buffer.from(headerValue, 'base64');
    let signed: pkijs.SignedData;
    try {
      const info = pkijs.ContentInfo.fromBER(toArrayBuffer(der));
      if (info.contentType !== pkijs.ContentInfo.SIGNED_DATA) throw new Error('not signed data');
      signed = new pkijs.SignedData({ schema: info.content });
    } catch {
      throw mdmErrors.identityInvalid('Mdm-Signature is not a CMS signed-data structure');
    }
    if (signed.signerInfos.length !== 1) throw mdmErrors.identityInvalid('Mdm-Signature must have exactly one signer');
    let result: pkijs.SignedDataVerifyResult;
    try {
      result = await signed.verify({ signer: 0, data: toArrayBuffer(body), extendedMode: true, checkChain: false });
    } catch {
      throw mdmErrors.identityInvalid('Mdm-Signature does not verify over the body');
    }
    if (!result.signatureVerified || !result.signerCertificate) throw mdmErrors.identityInvalid('Mdm-Signature does not verify over the body');
    const signer = new X509Certificate(Buffer.from(result.signerCertificate.toSchema().toBER(false)));
    const intermediates = (signed.certificates ?? [])
      .filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate)
      .map((c) => new X509Certificate(Buffer.from(c.toSchema().toBER(false))));
    return this.checkChain(signer, intermediates);
  }

  /** From the TLS client certificate (DER) of the connection. */
  fromClientCertificate(der: Buffer): DeviceIdentity {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der);
    } catch {
      throw mdmErrors.identityInvalid('client certificate cannot be parsed');
    }
    return this.checkChain(cert, []);
  }

  private checkChain(leaf: X509Certificate, pool: X509Certificate[]): DeviceIdentity {
    const now = this.clock();
    let current = leaf;
    for (let depth = 0; depth < 5; depth++) {
      if (!withinValidity(current, now)) throw mdmErrors.identityInvalid('certificate outside its validity period');
      const anchor = this.anchors.find((a) => current.checkIssued(a) && current.verify(a.publicKey));
      if (anchor) {
        if (!withinValidity(anchor, now)) throw mdmErrors.identityInvalid('issuing CA outside its validity period');
        return { certificate: leaf, sha256: createHash('sha256').update(leaf.raw).digest('hex') };
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

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
