import { X509Certificate, createPrivateKey } from 'node:crypto';

/** The subject attribute that carries an MDM push certificate's topic (userId, 0.9.2342.19200300.100.1.1). */
const topicPrefix = 'com.apple.mgmt.';

export class PushCertificateError extends Error {
  constructor(
    readonly reason: 'Unparsable' | 'KeyMismatch' | 'NoTopic' | 'TopicChanged' | 'Expired',
    message: string,
  ) {
    super(message);
    this.name = 'PushCertificateError';
  }
}

export interface ParsedPushCertificate {
  topic: string;
  notAfter: number;
  certPem: string;
  keyPem: string;
}

/**
 * Reads an uploaded MDM push certificate (docs/DEVICE-MANAGEMENT.md, "Apple: push certificate"):
 * PEM certificate and unencrypted PEM key, possibly concatenated in one text. The topic is the
 * subject's UID and must start with com.apple.mgmt.; the key must belong to the certificate.
 */
export function parsePushCertificate(certText: string, keyText?: string, now = Date.now()): ParsedPushCertificate {
  const certPem = certText.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  const keyPem = (keyText ?? certText).match(/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC )?PRIVATE KEY-----/)?.[0];
  if (!certPem || !keyPem) throw new PushCertificateError('Unparsable', 'a PEM certificate and a PEM private key are required');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    throw new PushCertificateError('Unparsable', 'the certificate cannot be parsed');
  }
  try {
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('mismatch');
  } catch {
    throw new PushCertificateError('KeyMismatch', 'the private key does not belong to the certificate');
  }
  const topic = topicOf(cert);
  if (!topic) throw new PushCertificateError('NoTopic', `the certificate subject has no UID starting with ${topicPrefix}`);
  const notAfter = Date.parse(cert.validTo);
  if (notAfter <= now) throw new PushCertificateError('Expired', 'the certificate has expired');
  return { topic, notAfter, certPem, keyPem };
}

export function topicOf(cert: X509Certificate): string | undefined {
  for (const line of cert.subject.split('\n')) {
    const m = /^UID=(.+)$/.exec(line.trim());
    if (m?.[1]?.startsWith(topicPrefix)) return m[1];
  }
  return undefined;
}
