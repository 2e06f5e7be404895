// @peculiar/x509 resolves its ASN.1 converters through tsyringe, which needs the Reflect polyfill
// loaded first (same as hub/src/broker/server-certificate.ts).
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as pkijs from 'pkijs';

/** Node's WebCrypto for both libraries; our lib settings have no DOM types, hence the casts. */
x509.cryptoProvider.set(webcrypto as never);
pkijs.setEngine('node-webcrypto', new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as never }));

export { x509, pkijs, webcrypto };

export type CryptoKey = webcrypto.CryptoKey;
export interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

export type CaKeyType = 'rsa' | 'ec';

/** What a CA of each key type signs with: SHA-256 everywhere (§6: SHA256withRSA / SHA256withECDSA). */
export const signingAlgorithms = {
  rsa: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ec: { name: 'ECDSA', hash: 'SHA-256' },
} as const;

const generation = {
  rsa: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ec: { name: 'ECDSA', namedCurve: 'P-256' },
} as const;

export async function generateKeyPair(type: CaKeyType): Promise<KeyPair> {
  // Extractable: the key is written to disk once, right after generation.
  return await webcrypto.subtle.generateKey(generation[type], true, ['sign', 'verify']);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/**
 * Imports a PEM private key of any encoding Node understands (PKCS#8, PKCS#1 "RSA PRIVATE KEY",
 * SEC1 "EC PRIVATE KEY") so operators can supply keys made by openssl or certtool as they are.
 * Returns the WebCrypto key (CRLs are signed with it), the node:crypto key object (certificates are:
 * a synchronous `crypto.sign` costs a fraction of a WebCrypto call) and its SPKI, used to check it
 * matches the CA certificate.
 */
export async function importPrivateKeyPem(pem: string): Promise<{ key: CryptoKey; keyObject: KeyObject; type: CaKeyType; spki: Buffer }> {
  const keyObject = createPrivateKey({ key: pem, format: 'pem' });
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  const pkcs8 = keyObject.export({ type: 'pkcs8', format: 'der' });
  const kind = keyObject.asymmetricKeyType;
  if (kind === 'rsa') {
    return {
      key: await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']),
      keyObject,
      type: 'rsa',
      spki,
    };
  }
  if (kind === 'ec' && keyObject.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return {
      key: await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']),
      keyObject,
      type: 'ec',
      spki,
    };
  }
  throw new Error(
    `unsupported CA key type ${kind}${keyObject.asymmetricKeyDetails?.namedCurve ? ` (${keyObject.asymmetricKeyDetails.namedCurve})` : ''}: RSA or EC P-256 only`,
  );
}

export function toBuffer(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}
