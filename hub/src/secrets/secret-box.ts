import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';

/**
 * A secret as the store keeps it (docs/SECURITY.md, "Secrets at rest"): AES-256-GCM under the hub's
 * secret key, a fresh 96-bit nonce per record, the record's name as additional authenticated data
 * (a sealed value copied into another record does not open), and the id of the key that sealed it.
 */
export interface SealedSecret {
  alg: 'A256GCM';
  /** The sealing key's id (a fingerprint, not the key): names the key a refusal is about. */
  kid: string;
  iv: string;
  ct: string;
  tag: string;
}

/** Why a sealed secret cannot be opened or made; the message names the setting to fix and never the secret. */
export class SecretKeyError extends Error {
  constructor(
    readonly reason: 'Missing' | 'Invalid' | 'WrongKey' | 'Corrupt',
    message: string,
  ) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

export const secretKeyBytes = 32;

/** Seals and opens secrets with one 256-bit key. The key stays in a KeyObject: it never prints. */
export class SecretBox {
  readonly keyId: string;
  private readonly key: KeyObject;

  constructor(keyBytes: Uint8Array) {
    if (keyBytes.length !== secretKeyBytes) throw new SecretKeyError('Invalid', `the secret key must be ${secretKeyBytes} bytes`);
    this.key = createSecretKey(keyBytes);
    this.keyId = createHash('sha256').update('edgehub secret key id\0').update(keyBytes).digest('hex').slice(0, 16);
  }

  seal(plaintext: string, aad: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      alg: 'A256GCM',
      kid: this.keyId,
      iv: iv.toString('base64'),
      ct: ct.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
    };
  }

  /** Throws SecretKeyError: WrongKey when sealed under another key, Corrupt when the record was altered. */
  open(sealed: SealedSecret, aad: string): string {
    if (sealed.alg !== 'A256GCM') throw new SecretKeyError('Corrupt', `unknown sealing algorithm ${String(sealed.alg)}`);
    if (sealed.kid !== this.keyId)
      throw new SecretKeyError('WrongKey', `sealed with the secret key ${sealed.kid}, but the configured key is ${this.keyId}`);
    const iv = Buffer.from(sealed.iv, 'base64');
    const tag = Buffer.from(sealed.tag, 'base64');
    if (iv.length !== 12 || tag.length !== 16) throw new SecretKeyError('Corrupt', 'the sealed secret is malformed');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError('Corrupt', 'the sealed secret does not authenticate under the configured key (altered or moved)');
    }
  }
}

export function isSealedSecret(v: unknown): v is SealedSecret {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return o['alg'] === 'A256GCM' && ['kid', 'iv', 'ct', 'tag'].every((k) => typeof o[k] === 'string');
}
