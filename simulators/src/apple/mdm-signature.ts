import { KeyObject, sign as cryptoSign, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

pkijs.setEngine('node-webcrypto', new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as never }));

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

const sha256Oid = '2.16.840.1.101.3.4.2.1';
const ecdsaWithSha256Oid = '1.2.840.10045.4.3.2';
const rsaEncryptionOid = '1.2.840.113549.1.1.1';

/**
 * Signs a request body as an enrolled Apple device does when its profile sets SignMessage: a
 * detached CMS SignedData over the exact body bytes, signer = the device identity certificate,
 * base64 in the `Mdm-Signature` header (docs/DEVICE-MANAGEMENT.md, "Apple: device identity").
 * The signature is computed with node:crypto straight over the body (no signed attributes), and
 * the structure assembled once per signature length with pkijs: only the signature bytes change
 * from one request to the next, and a fleet of thousands signs every request.
 */
export class MdmSigner {
  private readonly cert: pkijs.Certificate;
  private readonly key: KeyObject;
  private readonly signatureOid: string;

  constructor(certDer: Buffer, privateKey: webcrypto.CryptoKey) {
    this.cert = pkijs.Certificate.fromBER(toArrayBuffer(certDer));
    this.key = KeyObject.from(privateKey);
    this.signatureOid = this.key.asymmetricKeyType === 'ec' ? ecdsaWithSha256Oid : rsaEncryptionOid;
  }

  /** Per signature length: the DER around the signature, which is all that changes per request. */
  private readonly templates = new Map<number, [Buffer, Buffer]>();

  async sign(body: Buffer): Promise<string> {
    const signature = cryptoSign('sha256', body, this.key);
    const template = this.template(signature.length);
    return Buffer.concat([template[0], signature, template[1]]).toString('base64');
  }

  /**
   * Builds the structures for the usual signature lengths now (an ECDSA P-256 signature is 70 to
   * 72 bytes of DER, rarely shorter; an RSA one is the modulus length), so that a fleet's first
   * requests do not each pay for the ASN.1 encoding.
   */
  prepare(): void {
    if (this.key.asymmetricKeyType === 'ec') for (let n = 68; n <= 72; n++) this.template(n);
    else this.template(cryptoSign('sha256', Buffer.alloc(0), this.key).length);
  }

  private template(length: number): [Buffer, Buffer] {
    let template = this.templates.get(length);
    if (!template) {
      const marker = Buffer.alloc(length, 0xa5);
      const der = this.encode(marker);
      const at = der.indexOf(marker);
      template = [der.subarray(0, at), der.subarray(at + marker.length)];
      this.templates.set(length, template);
    }
    return template;
  }

  private encode(signature: Buffer): Buffer {
    const signed = new pkijs.SignedData({
      version: 1,
      digestAlgorithms: [new pkijs.AlgorithmIdentifier({ algorithmId: sha256Oid })],
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: pkijs.ContentInfo.DATA }),
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: this.cert.issuer, serialNumber: this.cert.serialNumber }),
          digestAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: sha256Oid }),
          signatureAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: this.signatureOid }),
          signature: new asn1js.OctetString({ valueHex: toArrayBuffer(signature) }),
        }),
      ],
      certificates: [this.cert],
    });
    const info = new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signed.toSchema(true) });
    return Buffer.from(info.toSchema().toBER(false));
  }
}
