/** Store-and-forward (issue 6 scope 6). The delivery contract is documented in reading-buffer.ts. */
export { openReadingBuffer } from './reading-buffer.js';
export type {
  AppendResult,
  BufferedReading,
  BufferStats,
  DropPolicy,
  ReadingBuffer,
  ReadingBufferOptions,
  ReadingId,
} from './reading-buffer.js';
export type { JsonValue, MeasurepointValue, Reading } from './reading.js';
export { replayBuffer } from './replay.js';
export type { ReplayOptions, ReplayResult, SendBatch } from './replay.js';
export { MAX_RESUME_PARAMS_BYTES, RESUME_BATCH_METHOD, toResumeBatchPayload } from './resume-payload.js';
export type { ResumeBatchEntry, ResumeBatchRequest } from './resume-payload.js';
