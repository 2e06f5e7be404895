/**
 * Readings the hub refused, kept for inspection instead of dropped (docs/ARCHITECTURE.md, "Edge:
 * refused readings"): one JSON line each in `<buffer.dir>/refused.jsonl` (0600), with why and
 * when. The file is bounded: past `maxBytes` it is rotated to `refused.jsonl.1` (one generation
 * kept). The config center shows the newest entries (`GET /refused`).
 */
import { appendFile, chmod, readFile, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MeasurepointValue } from './reading.js';

export interface RefusedReading {
  /** When the hub refused it, epoch ms. */
  at: number;
  productKey: string;
  deviceKey: string;
  /** The reading's own time. */
  time: number;
  /** The refused values: the skipped points, or the whole reading when the batch was refused. */
  measurepoints: Record<string, MeasurepointValue>;
  /** The hub's reply code (200 with the points skipped, or the batch's error code) and its reasons. */
  code: number;
  reason: string;
}

export class RefusedReadings {
  private bytes = -1;
  private chain: Promise<unknown> = Promise.resolve();
  /** Readings kept aside since the edge started. */
  count = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes = 16 * 1024 * 1024,
  ) {}

  get file(): string {
    return join(this.dir, 'refused.jsonl');
  }

  /** Appends, in order; resolves once written. A failing disk is reported to the caller, not swallowed. */
  keep(entries: readonly RefusedReading[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    this.count += entries.length;
    const text = entries.map((e) => JSON.stringify(e)).join('\n') + '\n';
    const run = this.chain.then(async () => {
      if (this.bytes < 0)
        this.bytes = await stat(this.file).then(
          (s) => s.size,
          () => 0,
        );
      if (this.bytes > 0 && this.bytes + text.length > this.maxBytes) {
        await rename(this.file, `${this.file}.1`);
        this.bytes = 0;
      }
      await appendFile(this.file, text, { mode: 0o600 });
      if (this.bytes === 0) await chmod(this.file, 0o600);
      this.bytes += Buffer.byteLength(text);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The newest `limit` entries, newest last. */
  async newest(limit: number): Promise<RefusedReading[]> {
    await this.chain;
    const text = await readFile(this.file, 'utf8').catch(() => '');
    return text
      .split('\n')
      .filter((l) => l !== '')
      .slice(-limit)
      .map((l) => JSON.parse(l) as RefusedReading);
  }
}
