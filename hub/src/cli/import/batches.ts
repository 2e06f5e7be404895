import { codes } from '@edgehub/shared';
import { ApiError, type ApiResponse } from '../../client/api-client.js';
import type { NewDevice } from '../../registry/devices.js';
import type { CreatedDevice } from '../views.js';
import type { ImportRow } from './rows.js';

/** One entry of a batchCreate answer (docs/ENOS-PROTOCOL.md §7.3). */
export interface BatchItem {
  code: number;
  msg: string;
  data: CreatedDevice | null;
}

export type Outcome = { row: ImportRow; ok: true; device: CreatedDevice } | { row: ImportRow; ok: false; code: number; msg: string };

export type SendBatch = (deviceList: NewDevice[]) => Promise<ApiResponse<BatchItem[] | null>>;

/**
 * Sends the rows in batches, in order, and reports each batch's outcomes before the next is sent
 * (so that the caller can save the secrets as they arrive). A refusal of a whole batch for a
 * reason other than its content (auth, org, server) throws: the rest would fail the same way.
 */
export async function createInBatches(
  rows: readonly ImportRow[],
  batchSize: number,
  send: SendBatch,
  onOutcomes: (outcomes: Outcome[]) => Promise<void> | void,
): Promise<void> {
  for (let i = 0; i < rows.length; i += batchSize) await sendBatch(rows.slice(i, i + batchSize), send, onOutcomes);
}

async function sendBatch(rows: ImportRow[], send: SendBatch, onOutcomes: (outcomes: Outcome[]) => Promise<void> | void): Promise<void> {
  const r = await send(rows.map((row) => row.device));
  if (r.code === codes.ok) {
    const items = r.data;
    if (!Array.isArray(items) || items.length !== rows.length)
      throw new Error(`the hub answered ${Array.isArray(items) ? items.length : 'no'} results for ${rows.length} devices`);
    await onOutcomes(
      rows.map((row, i): Outcome => {
        const item = items[i]!;
        return item.code === codes.ok && item.data
          ? { row, ok: true, device: item.data }
          : { row, ok: false, code: item.code, msg: item.msg };
      }),
    );
    return;
  }
  // The request as a whole was refused for its content: some entry the row checks let through, or
  // a body too large. Halve the batch until the culprit stands alone rather than fail the rest with it.
  if (r.code === codes.invalidArgument || r.code === codes.bodyTooLarge) {
    if (rows.length === 1) return onOutcomes([{ row: rows[0]!, ok: false, code: r.code, msg: r.msg }]);
    const half = Math.ceil(rows.length / 2);
    await sendBatch(rows.slice(0, half), send, onOutcomes);
    await sendBatch(rows.slice(half), send, onOutcomes);
    return;
  }
  throw new ApiError(r.status, r.code, r.msg);
}
