import { createPrivateKey, type KeyObject } from 'node:crypto';

/** What the FCM provider needs from a Google service account key file (docs/DEVICE-MANAGEMENT.md, "Android: FCM"). */
export interface ServiceAccount {
  projectId: string;
  clientEmail: string;
  privateKeyId?: string;
  privateKey: KeyObject;
  /** The OAuth2 token endpoint named in the file. */
  tokenUri?: string;
}

/** Parses the JSON key file; the error messages never contain the key. */
export function parseServiceAccount(text: string): ServiceAccount {
  let json: unknown;
  try {
    json = JSON.parse(text) as unknown;
  } catch {
    throw new Error('FCM service account: the file is not JSON');
  }
  if (json === null || typeof json !== 'object') throw new Error('FCM service account: the file is not a JSON object');
  const f = json as Record<string, unknown>;
  const str = (k: string) => (typeof f[k] === 'string' && f[k] !== '' ? f[k] : undefined);
  const projectId = str('project_id');
  const clientEmail = str('client_email');
  const keyPem = str('private_key');
  if (!projectId || !clientEmail || !keyPem) throw new Error('FCM service account: project_id, client_email and private_key are required');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new Error('FCM service account: private_key is not a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new Error('FCM service account: private_key must be an RSA key');
  const privateKeyId = str('private_key_id');
  const tokenUri = str('token_uri');
  return { projectId, clientEmail, privateKey, ...(privateKeyId ? { privateKeyId } : {}), ...(tokenUri ? { tokenUri } : {}) };
}
