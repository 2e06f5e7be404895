/**
 * Drains the buffer after reconnect: oldest batch first, one batch in flight, each batch removed
 * only once the hub accepted it. A batch that fails stays at the head and is sent again, with the
 * same readings, on the next replay (see the contract in reading-buffer.ts).
 */
import type { BufferedReading, ReadingBuffer } from './reading-buffer.js';
import { MAX_RESUME_PARAMS_BYTES } from './resume-payload.js';

/**
 * Sends one batch (typically `toResumeBatchPayload` on the resume/batch topic, QoS 1, awaiting the
 * `_reply`). 'acked' only for a 200 reply; 'retry' for anything else (timeout, disconnect, error
 * code). A rejection propagates out of replayBuffer; nothing of that batch is removed.
 */
export type SendBatch = (batch: readonly BufferedReading[]) => Promise<'acked' | 'retry'>;

export interface ReplayOptions {
  batchMaxItems: number;
  /** Bytes of the `params` array; at most MAX_RESUME_PARAMS_BYTES (512 KiB minus the envelope). */
  batchMaxBytes: number;
  /** Stops between batches (shutdown). The batch in flight is finished, not abandoned. */
  signal?: AbortSignal;
}

export interface ReplayResult {
  /** Batches the hub accepted. */
  batches: number;
  /** Readings removed after the hub accepted them. */
  readings: number;
  outcome: 'drained' | 'retry' | 'aborted';
}

const replaying = new WeakSet<ReadingBuffer>();

export async function replayBuffer(buffer: ReadingBuffer, send: SendBatch, opts: ReplayOptions): Promise<ReplayResult> {
  const { batchMaxItems, batchMaxBytes, signal } = opts;
  if (!Number.isSafeInteger(batchMaxItems) || batchMaxItems < 1)
    throw new RangeError('replayBuffer: batchMaxItems must be a positive integer');
  if (!Number.isSafeInteger(batchMaxBytes) || batchMaxBytes > MAX_RESUME_PARAMS_BYTES) {
    throw new RangeError(`replayBuffer: batchMaxBytes must be an integer <= ${MAX_RESUME_PARAMS_BYTES} (512 KiB minus the envelope)`);
  }
  if (batchMaxBytes < buffer.limits.maxReadingBytes + 2) {
    throw new RangeError(
      `replayBuffer: batchMaxBytes must hold the largest reading the buffer accepts (${buffer.limits.maxReadingBytes + 2})`,
    );
  }
  // Two drains would send the same head batch twice: harmless for the hub, but it doubles the
  // backlog traffic exactly when the uplink has just come back.
  if (replaying.has(buffer)) throw new Error('replayBuffer: a replay of this buffer is already running');
  replaying.add(buffer);
  const result: ReplayResult = { batches: 0, readings: 0, outcome: 'drained' };
  try {
    for (;;) {
      if (signal?.aborted) return { ...result, outcome: 'aborted' };
      const batch = await buffer.peek(batchMaxItems, batchMaxBytes);
      if (batch.length === 0) return result;
      if ((await send(batch)) !== 'acked') return { ...result, outcome: 'retry' };
      result.batches += 1;
      result.readings += await buffer.ack(batch.map((b) => b.id));
    }
  } finally {
    replaying.delete(buffer);
  }
}
