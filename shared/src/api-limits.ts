/**
 * Limits of the REST API that its clients (the CLI, the benchmarks) size their requests by; the
 * hub's routes enforce them (docs/PROTOCOL.md).
 */

/** The largest page a paged search or list returns. */
export const MAX_PAGE_SIZE = 200;

/** The most devices one batchCreate call accepts. */
export const MAX_BATCH = 1000;
