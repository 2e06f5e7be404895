/**
 * What the hub's logger hides (docs/SECURITY.md): secrets and private keys never reach a log line,
 * whether logged at the top level or one object down.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { redactPaths } from '../src/hub.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  const log = pino({ redact: { paths: redactPaths, censor: '[redacted]' } }, stream);
  return { log, lines };
}

describe('log redaction', () => {
  it('hides secrets and private keys, top level and nested, and keeps the rest', () => {
    const { log, lines } = capture();
    const pem = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----';
    log.info({ keyPem: pem, accessSecret: 's3cret-value', productKey: 'pk1' }, 'top');
    log.info({ certificate: { keyPem: pem, privateKey: pem, topic: 'com.apple.mgmt.x' }, app: { accessSecret: 's3cret-value' } }, 'nested');
    const text = lines.join('');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain('s3cret-value');
    expect(text).toContain('pk1');
    expect(text).toContain('com.apple.mgmt.x');
    expect(text.match(/\[redacted\]/g)?.length).toBe(5);
  });
});
