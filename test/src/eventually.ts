/**
 * Polls `probe` until it holds or `ms` passes, for state that lives in another process (a hub's
 * registry, HAProxy's view of a worker) and announces no event. Resolves with the time it took.
 */
export async function eventually(probe: () => Promise<boolean> | boolean, ms: number, what: string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await Promise.resolve(probe()).catch(() => false)) return Date.now() - start;
    if (Date.now() - start > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
