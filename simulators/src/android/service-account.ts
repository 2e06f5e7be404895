import { generateKeyPairSync, randomBytes } from 'node:crypto';

/** A Google-style service account key for tests: the JSON file the hub reads and the public key the FCM fake verifies with. */
export interface SimServiceAccount {
  /** The key file's text (project_id, client_email, private_key_id, private_key, token_uri). */
  json: string;
  projectId: string;
  clientEmail: string;
  privateKeyId: string;
  publicKeyPem: string;
}

export function createServiceAccount(projectId: string, tokenUri: string): SimServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = `firebase-adminsdk@${projectId}.iam.gserviceaccount.com`;
  const privateKeyId = randomBytes(20).toString('hex');
  const json = JSON.stringify({
    type: 'service_account',
    project_id: projectId,
    private_key_id: privateKeyId,
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    token_uri: tokenUri,
  });
  return { json, projectId, clientEmail, privateKeyId, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
