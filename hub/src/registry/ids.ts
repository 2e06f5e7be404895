import { randomBytes } from 'node:crypto';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const DIGITS = '0123456789';

/** Uniform random string over an alphabet (rejection sampling: no modulo bias). */
export function randomString(length: number, alphabet: string = ALPHANUMERIC): string {
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit) out += alphabet[byte % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

// Shapes follow the samples of docs/ENOS-PROTOCOL.md §1 (assetId 8, productKey 8, deviceKey 10, secret 20).
export const newAssetId = (): string => randomString(8);
export const newProductKey = (): string => randomString(8);
export const newDeviceKey = (): string => randomString(10);
export const newDeviceSecret = (): string => randomString(20);
export const newProductSecret = (): string => randomString(16);
export const newOrgId = (): string => 'o' + randomString(13, DIGITS);
export const newAppId = (): string => 'app' + randomString(13, DIGITS);
export const newAccessKey = (): string => randomString(24);
export const newAccessSecret = (): string => randomString(40);
export const newAccessToken = (): string => randomBytes(32).toString('hex');
