/**
 * Crash safety of the reading buffer (issue 6 Outage line): a child process appends (and now and
 * then acks the head), printing each append only after its promise resolved; we SIGKILL it
 * mid-stream and reopen. Every acknowledged append must be there exactly once, in order, with the
 * ids it was given; nothing half-written; counters that agree with the content. Several rounds on
 * the same directory, so each round also reopens a buffer killed mid-write; the later rounds run
 * with a small bound, so drop-oldest is killed mid-drop too.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { openReadingBuffer } from '../src/buffer/index.js';
import { crashReading, READINGS_PER_BATCH } from './fixtures/buffer-writer.js';

const writer = fileURLToPath(new URL('./fixtures/buffer-writer.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'buffer-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Printed {
  /** Global reading index g → the id its append resolved with. */
  appended: Map<number, string>;
  /** Ids whose ack resolved. */
  acked: Set<string>;
}

/** Runs the writer until it printed `batches` appends, kills it, and returns what it printed. */
function writeUntilKilled(maxBytes: number, batches: number): Promise<Printed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(maxBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const printed: Printed = { appended: new Map(), acked: new Set() };
    let seen = 0;
    let pending = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      // Only complete lines count: a torn last line is not an acknowledgement.
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [kind, ...rest] = line.split(' ');
        if (kind === 'b') {
          const [batch, ...ids] = rest;
          ids.forEach((id, k) => printed.appended.set(Number(batch) * READINGS_PER_BATCH + k, id));
          seen += 1;
        } else if (kind === 'a') {
          for (const id of rest) printed.acked.add(id);
        }
      }
      if (!killed && seen >= batches) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    // 'close' waits for stdout to drain: lines printed just before the kill count too.
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL' && killed) resolve(printed);
      else reject(new Error(`writer exited early (code ${code}, signal ${signal}): ${stderr}`));
    });
  });
}

it('keeps every acknowledged append exactly once and in order across SIGKILL, several rounds', async () => {
  const rounds = [
    { maxBytes: 64 * 1024 * 1024, batches: 60 },
    { maxBytes: 64 * 1024 * 1024, batches: 90 },
    { maxBytes: 16 * 1024, batches: 60 },
    { maxBytes: 16 * 1024, batches: 90 },
  ];
  const idOf = new Map<number, string>(); // every id ever printed or seen, by global index
  const everAcked = new Set<string>();
  for (const [round, { maxBytes, batches }] of rounds.entries()) {
    const printed = await writeUntilKilled(maxBytes, batches);
    expect(printed.appended.size).toBeGreaterThanOrEqual(batches * READINGS_PER_BATCH);
    expect(printed.acked.size).toBeGreaterThan(0);
    printed.acked.forEach((id) => everAcked.add(id));

    const buffer = await openReadingBuffer({ dir, maxBytes, maxAgeMs: Infinity, dropPolicy: 'drop-oldest' });
    const stats = buffer.stats();
    const content = await buffer.peek(Number.MAX_SAFE_INTEGER, 1024 * 1024 * 1024);

    // Whole appends only, and every acknowledged one is counted.
    expect(stats.appended % READINGS_PER_BATCH).toBe(0);
    expect(Math.max(...printed.appended.keys())).toBeLessThan(stats.appended);
    // The counters agree with the content, which is the newest `size` readings ever appended
    // (acks and drops both take from the head): in order, no gap, no duplicate, nothing torn.
    expect(content.length).toBe(buffer.size());
    expect(content.length).toBe(stats.appended - stats.acked - stats.droppedForSize - stats.droppedForAge);
    const first = stats.appended - content.length;
    content.forEach((c, k) => expect(c.reading).toEqual(crashReading(first + k)));
    // Every acknowledged append that was neither acked nor dropped is present (the suffix above
    // holds all of them) under the id its append returned, and ids stay stable across rounds.
    for (const [g, id] of printed.appended) idOf.set(g, id);
    content.forEach((c, k) => {
      const known = idOf.get(first + k);
      if (known !== undefined) expect(c.id).toBe(known);
      idOf.set(first + k, c.id);
    });
    expect(new Set(content.map((c) => c.id)).size).toBe(content.length);
    for (const c of content) expect(everAcked.has(c.id)).toBe(false);
    if (round < 2) expect(stats.droppedForSize).toBe(0);
    else expect(stats.droppedForSize).toBeGreaterThan(0);
    expect(buffer.bytes()).toBeLessThanOrEqual(round < 2 ? Number.MAX_SAFE_INTEGER : maxBytes);
    await buffer.close();
  }
}, 120_000);
