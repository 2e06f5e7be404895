import { constants } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDirectory } from '../durable.js';
import { CertificateError } from '../errors.js';
import { acquireStoreLock, LOCK_FILE, type StoreLock } from './lock.js';
import {
  DuplicateSerialError,
  matchesQuery,
  type CertificateQuery,
  type CertificateRecord,
  type CertificateStore,
  type Revocation,
  type RevokeOutcome,
} from './port.js';

/**
 * The embedded store: an append-only JSON-lines log, replayed into memory at open.
 *
 * Crash safety: a change is acknowledged only after its line is written and fdatasync'd. Concurrent
 * changes are group-committed (one write + one sync for everything queued meanwhile), so issuance is
 * not serialized behind the disk. A crash can only leave a partial *last* line (nothing after it was
 * acknowledged); open truncates it. A bad line anywhere else is corruption and open refuses.
 * The log holds one line per issuance and one per revocation, small enough to never need compaction
 * at device-certificate volumes. In memory the records are indexed by serial and by CN: every
 * issuance asks whether its CN is free (docs/SECURITY.md "Certificates"), which must not cost a scan
 * of every certificate ever issued.
 */
export async function openJsonlCertificateStore(path: string): Promise<CertificateStore> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // One process per log (./lock.ts): taken before the log is even read.
  const lock = await acquireStoreLock(join(dirname(path), LOCK_FILE));
  let file: FileHandle | undefined;
  try {
    file = await open(path, constants.O_RDWR | constants.O_CREAT | constants.O_APPEND, 0o600);
    const records = await replay(file, path);
    if ((await file.stat()).size === 0) await syncDirectory(dirname(path));
    return new JsonlStore(file, records, indexByCommonName(records), lock);
  } catch (err) {
    await file?.close();
    await lock.release();
    throw err;
  }
}

type Entry = { op: 'insert'; record: StoredRecord } | { op: 'revoke'; serialHex: string; reason: number; at: string };

/** JSON form of a record: dates as ISO strings, the CSR as base64. */
type StoredRecord = Omit<CertificateRecord, 'notBefore' | 'notAfter' | 'issuedAt' | 'csrDer' | 'revocation'> & {
  notBefore: string;
  notAfter: string;
  issuedAt: string;
  csrDer: string;
  revocation?: { reason: number; at: string };
};

async function replay(file: FileHandle, path: string): Promise<Map<string, CertificateRecord>> {
  const text = (await file.readFile()).toString('utf8');
  const records = new Map<string, CertificateRecord>();
  let offset = 0;
  let lineNo = 0;
  while (offset < text.length) {
    const end = text.indexOf('\n', offset);
    const line = end < 0 ? text.slice(offset) : text.slice(offset, end);
    lineNo++;
    let entry: Entry | undefined;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      entry = undefined;
    }
    if (end < 0 || entry === undefined) {
      if (end < 0 || text.indexOf('\n', end + 1) < 0) {
        // A write cut short by a crash: never acknowledged, so dropping it loses nothing.
        await file.truncate(Buffer.byteLength(text.slice(0, offset), 'utf8'));
        await file.datasync();
        break;
      }
      throw new CertificateError('store.failed', `${path}: line ${lineNo} is not valid JSON (corrupt log; refusing to guess)`);
    }
    apply(records, entry);
    offset = end + 1;
  }
  return records;
}

function apply(records: Map<string, CertificateRecord>, entry: Entry): void {
  if (entry.op === 'insert') {
    records.set(entry.record.serialHex, fromStored(entry.record));
  } else {
    const record = records.get(entry.serialHex);
    if (record) record.revocation = { reason: entry.reason as Revocation['reason'], at: new Date(entry.at) };
  }
}

function toStored(r: CertificateRecord): StoredRecord {
  const { revocation, ...rest } = r;
  return {
    ...rest,
    notBefore: r.notBefore.toISOString(),
    notAfter: r.notAfter.toISOString(),
    issuedAt: r.issuedAt.toISOString(),
    csrDer: Buffer.from(r.csrDer).toString('base64'),
    ...(revocation ? { revocation: { reason: revocation.reason, at: revocation.at.toISOString() } } : {}),
  };
}

function fromStored(s: StoredRecord): CertificateRecord {
  const { revocation, ...rest } = s;
  return {
    ...rest,
    notBefore: new Date(s.notBefore),
    notAfter: new Date(s.notAfter),
    issuedAt: new Date(s.issuedAt),
    csrDer: new Uint8Array(Buffer.from(s.csrDer, 'base64')),
    ...(revocation ? { revocation: { reason: revocation.reason as Revocation['reason'], at: new Date(revocation.at) } } : {}),
  };
}

function indexByCommonName(records: Map<string, CertificateRecord>): Map<string, Set<string>> {
  const index = new Map<string, Set<string>>();
  for (const r of records.values()) addToIndex(index, r);
  return index;
}

function addToIndex(index: Map<string, Set<string>>, r: CertificateRecord): void {
  let serials = index.get(r.commonName);
  if (!serials) index.set(r.commonName, (serials = new Set()));
  serials.add(r.serialHex);
}

/** Records handed out are copies: callers cannot change the store by mutating them. */
function copy(r: CertificateRecord): CertificateRecord {
  return {
    ...r,
    binding: { ...r.binding },
    csrDer: new Uint8Array(r.csrDer),
    ...(r.revocation ? { revocation: { ...r.revocation } } : {}),
  };
}

interface Pending {
  entry: Entry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

class JsonlStore implements CertificateStore {
  private queue: Pending[] = [];
  private flushing = false;
  private failed: Error | undefined;
  private closed = false;
  /** Serials whose insert/revocation is queued but not yet durable: decided at enqueue time. */
  private readonly inserting = new Set<string>();
  private readonly revoking = new Set<string>();

  constructor(
    private readonly file: FileHandle,
    private readonly records: Map<string, CertificateRecord>,
    /** Serials by CN. */
    private readonly byCommonName: Map<string, Set<string>>,
    private readonly lock: StoreLock,
  ) {}

  async insert(record: CertificateRecord): Promise<void> {
    this.usable();
    if (this.records.has(record.serialHex) || this.inserting.has(record.serialHex)) throw new DuplicateSerialError(record.serialHex);
    this.inserting.add(record.serialHex);
    try {
      await this.append({ op: 'insert', record: toStored(record) });
      const stored = copy(record);
      this.records.set(record.serialHex, stored);
      addToIndex(this.byCommonName, stored);
    } finally {
      this.inserting.delete(record.serialHex);
    }
  }

  async revoke(serialHex: string, revocation: Revocation): Promise<RevokeOutcome> {
    this.usable();
    const record = this.records.get(serialHex);
    if (!record) return { missing: true };
    if (record.revocation || this.revoking.has(serialHex)) return { alreadyRevoked: copy(record) };
    this.revoking.add(serialHex);
    try {
      await this.append({ op: 'revoke', serialHex, reason: revocation.reason, at: revocation.at.toISOString() });
      record.revocation = { ...revocation };
      return { revoked: copy(record) };
    } finally {
      this.revoking.delete(serialHex);
    }
  }

  async get(serialHex: string): Promise<CertificateRecord | undefined> {
    const r = this.records.get(serialHex);
    return r && copy(r);
  }

  async find(query: CertificateQuery): Promise<CertificateRecord[]> {
    const out: CertificateRecord[] = [];
    if (query.commonName !== undefined) {
      for (const serial of this.byCommonName.get(query.commonName) ?? []) {
        const r = this.records.get(serial)!;
        if (matchesQuery(r, query)) out.push(copy(r));
      }
      return out;
    }
    for (const r of this.records.values()) if (matchesQuery(r, query)) out.push(copy(r));
    return out;
  }

  async count(): Promise<number> {
    return this.records.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.file.close();
    await this.lock.release();
  }

  private usable(): void {
    if (this.closed) throw new CertificateError('store.failed', 'certificate store is closed');
    if (this.failed !== undefined) throw new CertificateError('store.failed', `certificate store failed earlier: ${this.failed.message}`);
  }

  private append(entry: Entry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        if (this.failed !== undefined) throw this.failed;
        await this.file.write(batch.map((p) => JSON.stringify(p.entry) + '\n').join(''));
        await this.file.datasync();
        for (const p of batch) p.resolve();
      } catch (err) {
        // After a failed write the file may end in a partial line; later appends would bury it.
        // Refuse everything until a restart replays (and repairs) the log.
        this.failed ??= err instanceof Error ? err : new Error(String(err));
        for (const p of batch) p.reject(new CertificateError('store.failed', `certificate store write failed: ${String(err)}`));
      }
    }
    this.flushing = false;
  }
}
