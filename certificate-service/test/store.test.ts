import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateError, openJsonlCertificateStore } from '../src/index.js';
import { tempDir } from './helpers.js';
import { certificateStoreContract, record } from './store-contract.js';

/** The embedded JSON-lines store: the shared contract, plus what a crash can leave behind. */
let dir: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  dir = await tempDir('certstore-');
});
afterAll(async () => {
  await dir?.remove();
});

certificateStoreContract('embedded JSON lines', () => openJsonlCertificateStore(join(dir.path, 'contract', 'certificates.jsonl')));

describe('the JSON-lines log after a crash', () => {
  it('drops a half-written last line (never acknowledged) and keeps appending cleanly', async () => {
    const path = join(dir.path, 'torn', 'certificates.jsonl');
    const store = await openJsonlCertificateStore(path);
    const kept = record();
    await store.insert(kept);
    await store.close();
    const good = (await stat(path)).size;
    await appendFile(path, '{"op":"insert","record":{"serialHex":"12'); // the crash

    const reopened = await openJsonlCertificateStore(path);
    expect((await stat(path)).size).toBe(good);
    expect(await reopened.count()).toBe(1);
    const next = record();
    await reopened.insert(next);
    await reopened.close();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { record: { serialHex: string } }).record.serialHex)).toEqual([
      kept.serialHex,
      next.serialHex,
    ]);
  });

  it('refuses to open a log corrupted before its last line', async () => {
    const path = join(dir.path, 'corrupt', 'certificates.jsonl');
    const store = await openJsonlCertificateStore(path);
    await store.insert(record());
    await store.insert(record());
    await store.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    await writeFile(path, ['{garbage', ...lines.slice(1)].join('\n'));
    const err = await openJsonlCertificateStore(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).code).toBe('store.failed');
  });

  it('concurrent inserts (group-committed) are all durable', async () => {
    const path = join(dir.path, 'burst', 'certificates.jsonl');
    const store = await openJsonlCertificateStore(path);
    const records = Array.from({ length: 200 }, () => record());
    await Promise.all(records.map((r) => store.insert(r)));
    await store.close();
    const again = await openJsonlCertificateStore(path);
    expect(await again.count()).toBe(200);
    await again.close();
  });

  it('creates the log 0600', async () => {
    const path = join(dir.path, 'mode', 'certificates.jsonl');
    const store = await openJsonlCertificateStore(path);
    await store.close();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
});
