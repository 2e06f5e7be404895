import { setTimeout as sleep } from 'node:timers/promises';

/** What one poll after a wake-up came to: served, refused (trying again will not help), or worth trying again. */
export type WakeTry = 'served' | 'refused' | 'retry';

/** How a wake-up ended: its poll was served, refused, or still failed after every try. */
export type WakeEnd = 'served' | 'refused' | 'gave-up';

/**
 * Tries per wake-up. With the default 500 ms first wait and waits capped at MAX_WAKE_WAIT_MS, the
 * last try comes about seven minutes after the push: a device under a server that is overrun for
 * minutes still gets its command, as a real one does at its next periodic poll.
 */
export const WAKE_TRIES = 20;

/** The longest wait between two tries, like a real device's poll interval (the wait doubles up to it). */
export const MAX_WAKE_WAIT_MS = 30_000;

/** An answer worth trying again later: the server is busy (429) or in trouble (5xx). */
export const retryable = (status: number): boolean => status === 429 || status >= 500;

/** The server answered a device's session with this status instead of success. */
export class ServerAnswerError extends Error {
  constructor(
    readonly status: number,
    what: string,
    body: string,
  ) {
    super(`${what} answered ${status}: ${body}`);
  }
}

/**
 * One try of a session that throws ServerAnswerError on an unsuccessful answer: served when it
 * completes, refused on an answer not worth retrying; anything else (a dropped connection, 429,
 * 5xx) rejects, i.e. is tried again.
 */
export function sessionTry(session: () => Promise<void>): Promise<WakeTry> {
  return session().then(
    () => 'served' as const,
    (err: unknown) => {
      if (err instanceof ServerAnswerError && !retryable(err.status)) return 'refused' as const;
      throw err;
    },
  );
}

/** The wait after failed try `attempt` (1-based): `retryMs`, doubling, at most `maxWaitMs`. */
export const wakeWait = (attempt: number, retryMs: number, maxWaitMs = MAX_WAKE_WAIT_MS): number =>
  Math.min(retryMs * 2 ** (attempt - 1), maxWaitMs);

/**
 * Runs the poll a wake-up triggers until it is served or refused. A try that fails (a dropped
 * connection: the promise rejects) or is answered 429 or 5xx is made again after `retryMs`, then
 * twice that, and so on up to `maxWaitMs` between tries, `tries` times at most, as a real device's
 * retry schedule or periodic poll catches up with a wake-up it could not act on. `retryMs` 0 tries
 * once. The waits do not keep the process alive.
 */
export async function pollOnWake(
  tryOnce: () => Promise<WakeTry>,
  retryMs: number,
  tries = WAKE_TRIES,
  maxWaitMs = MAX_WAKE_WAIT_MS,
): Promise<WakeEnd> {
  for (let attempt = 1; ; attempt++) {
    const outcome = await tryOnce().catch((): WakeTry => 'retry');
    if (outcome !== 'retry') return outcome;
    if (retryMs <= 0 || attempt >= tries) return 'gave-up';
    await sleep(wakeWait(attempt, retryMs, maxWaitMs), undefined, { ref: false });
  }
}
