import { open, rm, type FileHandle } from 'node:fs/promises';
import { formatCsvRow } from '../csv.js';
import { UsageError } from '../errors.js';
import type { Outcome } from './batches.js';

const HEADER = ['line', 'productKey', 'deviceKey', 'deviceSecret', 'assetId', 'deviceName'];

/**
 * The created triples of an import, with their secrets: created 0600 before the first batch and
 * appended after each, so an import that stops halfway still keeps what it created. Never
 * overwrites a file: it may hold the only copy of an earlier import's secrets.
 */
export class TriplesFile {
  private written = 0;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {}

  static async create(path: string): Promise<TriplesFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'wx', 0o600);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST')
        throw new UsageError(`${path} already exists; not overwriting it (it may hold the secrets of an earlier import)`);
      throw new UsageError(`cannot create ${path}: ${code ?? (e as Error).message}`);
    }
    await fh.chmod(0o600); // whatever the umask
    await fh.write(formatCsvRow(HEADER));
    return new TriplesFile(fh, path);
  }

  get count(): number {
    return this.written;
  }

  async append(outcomes: readonly Outcome[]): Promise<void> {
    const lines = outcomes.flatMap((o) =>
      o.ok
        ? [
            formatCsvRow([
              String(o.row.line),
              o.device.productKey,
              o.device.deviceKey,
              o.device.deviceSecret,
              o.device.assetId,
              o.row.device.deviceName.defaultValue,
            ]),
          ]
        : [],
    );
    if (lines.length === 0) return;
    await this.fh.write(lines.join(''));
    this.written += lines.length;
  }

  /** Closes the file; one with no device in it is removed. */
  async close(): Promise<void> {
    await this.fh.close();
    if (this.written === 0) await rm(this.path, { force: true });
  }
}
