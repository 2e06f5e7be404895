/**
 * The request that carries a buffered batch to the hub: `thing.measurepoint.resume.batch` on the
 * gateway's `/sys/{gwPk}/{gwDk}/thing/measurepoint/resume/batch` topic (docs/ENOS-PROTOCOL.md §4.1, §5.4).
 */
import { MAX_PAYLOAD_BYTES } from '@edgehub/shared';
import type { BufferedReading } from './reading-buffer.js';
import type { MeasurepointValue } from './reading.js';

export const RESUME_BATCH_METHOD = 'thing.measurepoint.resume.batch';

/**
 * Room kept for the envelope around `params` (`{"id":…,"version":"1.0","method":…,"params":…,
 * "allowOfflineSubDevice":true}` is about 110 bytes plus the id).
 */
export const RESUME_ENVELOPE_RESERVE = 1024;

/**
 * The largest `params` array a batch may serialize to. Payloads of 512 KiB and more are refused
 * (SDKs check `>= 512*1024`, the cloud answers 1008, §3), hence the extra byte.
 */
export const MAX_RESUME_PARAMS_BYTES = MAX_PAYLOAD_BYTES - 1 - RESUME_ENVELOPE_RESERVE;

export interface ResumeBatchEntry {
  productKey: string;
  deviceKey: string;
  measurepoints: Record<string, MeasurepointValue>;
  time: number;
}

export interface ResumeBatchRequest {
  id: string;
  version: '1.0';
  method: typeof RESUME_BATCH_METHOD;
  params: ResumeBatchEntry[];
  /**
   * The backlog is replayed right after reconnect, before (or while) the sub-devices log in
   * again; without the flag the hub rejects the whole batch with 1212 (§4.1, §5.4).
   */
  allowOfflineSubDevice: true;
}

export function toResumeBatchPayload(batch: readonly Pick<BufferedReading, 'id' | 'reading' | 'bytes'>[], id: string): ResumeBatchRequest {
  if (typeof id !== 'string' || Buffer.byteLength(JSON.stringify(id), 'utf8') > RESUME_ENVELOPE_RESERVE / 2)
    throw new RangeError('resume batch id is too long for the envelope reserve');
  return {
    id,
    version: '1.0',
    method: RESUME_BATCH_METHOD,
    // Every entry names its device, the gateway's own readings too: an entry without keys would
    // mean "the gateway" only by accident of who publishes.
    params: batch.map(({ reading: r }) => ({
      productKey: r.productKey,
      deviceKey: r.deviceKey,
      measurepoints: r.measurepoints,
      time: r.time,
    })),
    allowOfflineSubDevice: true,
  };
}
