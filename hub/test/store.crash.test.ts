/**
 * Crash safety of the embedded store: a child process writes and acknowledges, we SIGKILL it
 * mid-stream, and every acknowledged write must be there, intact, when the store is reopened.
 * Three rounds append to the same store, so each round also reopens a store killed mid-write.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { openEmbeddedStore } from '../src/store/embedded/store.js';
import { crashDoc, crashSpec, type CrashDoc } from './fixtures/store-writer.js';

const writer = fileURLToPath(new URL('./fixtures/store-writer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'store-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until `acks` ids were acknowledged, kills it, and returns every id it acknowledged. */
function writeUntilKilled(round: number, acks: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let pending = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // Only complete lines count: a torn last line is not an acknowledgement.
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      acked.push(...lines);
      if (!killed && acked.length >= acks) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    // 'close' waits for stdout to drain: ids printed just before the kill are acknowledged too.
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && killed) resolve(acked);
      else reject(new Error(`writer exited early (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

it('keeps every acknowledged write across SIGKILL, three rounds on the same store', async () => {
  const acknowledged: string[] = [];
  for (let round = 0; round < 3; round++) {
    const ids = await writeUntilKilled(round, 300 + 100 * round);
    expect(ids.length).toBeGreaterThanOrEqual(300);
    acknowledged.push(...ids);

    const store = await openEmbeddedStore({ path: dir });
    const devices = await store.collection<CrashDoc>(crashSpec);
    for (const id of acknowledged) expect(await devices.get(id)).toEqual(crashDoc(id));
    // Nothing torn: whatever else was committed (unacknowledged writes may be) is intact too,
    // and the indexes, written in the same transactions, agree with the documents.
    const { items, total } = await devices.find({});
    expect(total).toBeGreaterThanOrEqual(acknowledged.length);
    for (const doc of items) expect(doc).toEqual(crashDoc(doc.id));
    for (const pk of ['p0', 'p1', 'p2', 'p3', 'p4']) {
      expect(await devices.count({ productKey: pk })).toBe(items.filter((d) => d.productKey === pk).length);
    }
    const sample = items[items.length - 1]!;
    expect((await devices.findOne({ productKey: sample.productKey, deviceKey: sample.deviceKey }))?.id).toBe(sample.id);
    await store.close();
  }
}, 60_000);
