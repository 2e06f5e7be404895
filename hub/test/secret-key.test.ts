import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SecretBox, SecretKeyError } from '../src/secrets/secret-box.js';
import { generatedKeyFile, loadSecretKeyring } from '../src/secrets/secret-key.js';

/** docs/SECURITY.md, "Secrets at rest". */
describe('SecretBox: AES-256-GCM, a nonce per seal, the record name as AAD', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed; two seals of one secret share no nonce and no ciphertext', () => {
    const a = box.seal('-----BEGIN PRIVATE KEY-----xyz', 'coll/id/field');
    const b = box.seal('-----BEGIN PRIVATE KEY-----xyz', 'coll/id/field');
    expect(box.open(a, 'coll/id/field')).toBe('-----BEGIN PRIVATE KEY-----xyz');
    expect(a.iv).not.toBe(b.iv);
    expect(a.ct).not.toBe(b.ct);
    expect(JSON.stringify(a)).not.toContain('PRIVATE KEY');
    expect(a.kid).toBe(box.keyId);
  });

  it('refuses another record name, an altered ciphertext and another key, each with its reason', () => {
    const sealed = box.seal('secret', 'coll/a/field');
    expect(() => box.open(sealed, 'coll/b/field')).toThrow(expect.objectContaining({ reason: 'Corrupt' }) as Error);
    const ct = Buffer.from(sealed.ct, 'base64');
    ct[0] = ct[0]! ^ 1;
    expect(() => box.open({ ...sealed, ct: ct.toString('base64') }, 'coll/a/field')).toThrow(SecretKeyError);
    const other = new SecretBox(randomBytes(32));
    expect(() => other.open(sealed, 'coll/a/field')).toThrow(expect.objectContaining({ reason: 'WrongKey' }) as Error);
    // Same id, another key (a forged kid): the tag still refuses it.
    expect(() => other.open({ ...sealed, kid: other.keyId }, 'coll/a/field')).toThrow(
      expect.objectContaining({ reason: 'Corrupt' }) as Error,
    );
  });
});

describe('loadSecretKeyring: HUB_SECRET_KEY, HUB_SECRET_KEY_FILE, or a key generated 0600 in the data directory', () => {
  let dir: string;
  const warnings: string[] = [];
  const log = { info: () => undefined, warn: (_o: object, m: string) => void warnings.push(m) };
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'secret-key-'));
    warnings.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('generates secret.key 0600 at the first start of a single node and reads the same key afterwards', async () => {
    const first = await loadSecretKeyring({ env: {}, dataDir: dir, log });
    const st = await stat(join(dir, generatedKeyFile));
    expect(st.mode & 0o777).toBe(0o600);
    expect(Buffer.from((await readFile(join(dir, generatedKeyFile), 'utf8')).trim(), 'base64')).toHaveLength(32);
    const again = await loadSecretKeyring({ env: {}, dataDir: dir, log });
    expect(again.box?.keyId).toBe(first.box?.keyId);
    expect(first.box).toBeDefined();
  });

  it('takes HUB_SECRET_KEY or HUB_SECRET_KEY_FILE; a malformed one stops with the variable named, never its value', async () => {
    const key = randomBytes(32).toString('base64');
    const inline = await loadSecretKeyring({ env: { HUB_SECRET_KEY: key }, dataDir: dir, log });
    await writeFile(join(dir, 'k'), `${key}\n`, { mode: 0o644 });
    const fromFile = await loadSecretKeyring({ env: { HUB_SECRET_KEY_FILE: join(dir, 'k') }, dataDir: dir, log });
    expect(fromFile.box?.keyId).toBe(inline.box?.keyId);
    expect(warnings).toEqual(['the secret key file is readable by others: make it 0600']);
    const short = randomBytes(16).toString('base64');
    const err = await loadSecretKeyring({ env: { HUB_SECRET_KEY: short }, dataDir: dir, log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretKeyError);
    expect((err as Error).message).toMatch(/HUB_SECRET_KEY must hold 32 bytes in base64/);
    expect((err as Error).message).not.toContain(short);
    await expect(
      loadSecretKeyring({ env: { HUB_SECRET_KEY: key, HUB_SECRET_KEY_FILE: join(dir, 'k') }, dataDir: dir, log }),
    ).rejects.toThrow(/not both/);
  });

  it('with REDIS_URL or MONGODB_URL generates nothing: the key must be given to every node', async () => {
    for (const env of [{ REDIS_URL: 'redis://127.0.0.1:1' }, { MONGODB_URL: 'mongodb://127.0.0.1:1' }]) {
      const ring = await loadSecretKeyring({ env, dataDir: dir, log });
      expect(ring.box).toBeUndefined();
      expect(ring.missing).toMatch(/HUB_SECRET_KEY or HUB_SECRET_KEY_FILE is required/);
    }
    await expect(stat(join(dir, generatedKeyFile))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
