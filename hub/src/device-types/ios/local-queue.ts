import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Collection, CollectionSpec, Store } from '../../store/port.js';
import { renderCommand, type RenderContext } from './commands.js';
import type { MdmCommandSource, MdmResultStatus, PulledCommand } from './command-source.js';
import { buildPlist, type PlistDict } from './plist-codec.js';

/** Entgra operation statuses (docs/DEVICE-MANAGEMENT.md, "Apple: commands"). */
export type MdmOperationStatus = 'PENDING' | 'IN_PROGRESS' | 'NOTNOW' | 'COMPLETED' | 'ERROR';

export interface MdmOperationRecord {
  commandUuid: string;
  udid: string;
  requestType: string;
  plist: string;
  /** Issue order per device. */
  seq: number;
  status: MdmOperationStatus;
  createdAt: number;
  updatedAt: number;
  notNowCount: number;
  history: { status: MdmOperationStatus; at: number; note?: string }[];
  /** The device's result plist (XML), kept as received. */
  response?: string;
}

const openStatuses: MdmOperationStatus[] = ['PENDING', 'IN_PROGRESS', 'NOTNOW'];

export const mdmOperationSpec: CollectionSpec = { name: 'iosOperations', key: 'commandUuid', indexes: ['udid'] };

const finalStatus: Record<MdmResultStatus, MdmOperationStatus> = {
  Acknowledged: 'COMPLETED',
  Error: 'ERROR',
  CommandFormatError: 'ERROR',
  NotNow: 'NOTNOW',
};

/**
 * A store-backed per-device queue of Apple commands: the plugin's own stand-in for the shared
 * command core until the core's pull-style delivery is wired (docs/DEVICE-MANAGEMENT.md). Nothing
 * lives only in memory, so a restart loses nothing and sends nothing twice: an IN_PROGRESS command
 * is re-sent only when the device asks again (Idle), as Apple's protocol expects.
 */
export class LocalMdmQueue extends EventEmitter<{ status: [MdmOperationRecord] }> implements MdmCommandSource {
  private counter = 0;

  private constructor(
    private readonly ops: Collection<MdmOperationRecord>,
    private readonly clock: () => number,
  ) {
    super();
  }

  static async open(store: Store, clock: () => number = Date.now): Promise<LocalMdmQueue> {
    return new LocalMdmQueue(await store.collection<MdmOperationRecord>(mdmOperationSpec), clock);
  }

  async enqueue(udid: string, code: string, params: Record<string, unknown>, ctx: RenderContext = {}): Promise<MdmOperationRecord> {
    const commandUuid = randomUUID().toUpperCase();
    const { requestType, plist } = renderCommand(commandUuid, code, params, ctx);
    const now = this.clock();
    const rec: MdmOperationRecord = {
      commandUuid,
      udid,
      requestType,
      plist,
      seq: now * 1000 + (this.counter++ % 1000),
      status: 'PENDING',
      createdAt: now,
      updatedAt: now,
      notNowCount: 0,
      history: [{ status: 'PENDING', at: now }],
    };
    await this.ops.insert(rec);
    this.emit('status', rec);
    return rec;
  }

  get(commandUuid: string): Promise<MdmOperationRecord | undefined> {
    return this.ops.get(commandUuid);
  }

  async list(udid: string): Promise<MdmOperationRecord[]> {
    return (await this.ops.find({ udid }, { sort: [{ field: 'seq', order: 'ASC' }], limit: 1000 })).items;
  }

  async next(udid: string, turn: { idle: boolean; skipNotNow: boolean }): Promise<PulledCommand | undefined> {
    const statuses = turn.skipNotNow ? ['PENDING', 'IN_PROGRESS'] : openStatuses;
    const { items } = await this.ops.find({ udid, status: { $in: statuses } }, { sort: [{ field: 'seq', order: 'ASC' }], limit: 1 });
    const rec = items[0];
    if (!rec) return undefined;
    if (rec.status !== 'IN_PROGRESS') await this.transition(rec, 'IN_PROGRESS');
    return { commandUuid: rec.commandUuid, plist: rec.plist };
  }

  async report(udid: string, commandUuid: string, status: MdmResultStatus, response: PlistDict): Promise<boolean> {
    const rec = await this.ops.get(commandUuid);
    if (!rec || rec.udid !== udid || !openStatuses.includes(rec.status)) return false;
    const to = finalStatus[status];
    const extra: Partial<MdmOperationRecord> = { response: buildPlist(response) };
    if (to === 'NOTNOW') extra.notNowCount = rec.notNowCount + 1;
    return this.transition(rec, to, extra);
  }

  async clear(udid: string): Promise<void> {
    const { items } = await this.ops.find({ udid, status: { $in: openStatuses } }, { limit: 10_000 });
    for (const rec of items) await this.transition(rec, 'ERROR', {}, 'the device enrolled again (Authenticate)');
  }

  private async transition(
    rec: MdmOperationRecord,
    to: MdmOperationStatus,
    extra: Partial<MdmOperationRecord> = {},
    note?: string,
  ): Promise<boolean> {
    const at = this.clock();
    const entry = note ? { status: to, at, note } : { status: to, at };
    const updated = await this.ops.update(
      rec.commandUuid,
      { ...extra, status: to, updatedAt: at, history: [...rec.history, entry] },
      { status: rec.status },
    );
    if (updated) this.emit('status', updated);
    return updated !== undefined;
  }
}
