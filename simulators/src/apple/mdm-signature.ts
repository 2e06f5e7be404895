import { webcrypto } from 'node:crypto';
import * as pkijs from 'pkijs';

pkijs.setEngine('node-webcrypto', new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as never }));

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * Signs a request body as an enrolled Apple device does when its profile sets SignMessage: a
 * detached CMS SignedData over the exact body bytes, signer = the device identity certificate,
 * base64 in the `Mdm-Signature` header (docs/DEVICE-MANAGEMENT.md, "Apple: device identity").
 */
export class MdmSigner {
  private readonly cert: pkijs.Certificate;

  constructor(certDer: Buffer, private readonly privateKey: webcrypto.CryptoKey) {
    this.cert = pkijs.Certificate.fromBER(toArrayBuffer(certDer));
  }

  async sign(body: Buffer): Promise<string> {
    const signed = new pkijs.SignedData({
      version: 1,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: pkijs.ContentInfo.DATA }),
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: this.cert.issuer, serialNumber: this.cert.serialNumber }),
        }),
      ],
      certificates: [this.cert],
    });
    await signed.sign(this.privateKey as never, 0, 'SHA-256', toArrayBuffer(body));
    const info = new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signed.toSchema(true) });
    return Buffer.from(info.toSchema().toBER(false)).toString('base64');
  }
}
