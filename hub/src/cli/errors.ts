import { ApiError } from '../client/api-client.js';

/** Exit codes of the CLI: 0 success, 1 an API or runtime failure (or rows that failed), 2 a usage error. */
export const exitCodes = { ok: 0, failure: 1, usage: 2 } as const;

/** Bad arguments, a bad input file, no profile: the user must change the command, not retry it. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the command has already reported in full (rows that failed an import): exit 1, print nothing more. */
export class ReportedFailure extends Error {
  override name = 'ReportedFailure';
}

/** Prints an error the way the CLI promises (API errors as `error <code>: <msg>`) and returns the exit code. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (e instanceof ReportedFailure) return exitCodes.failure;
  if (e instanceof UsageError) {
    stderr.write(`error: ${e.message}\n`);
    return exitCodes.usage;
  }
  if (e instanceof ApiError) {
    stderr.write(`error ${e.code}: ${apiMessage(e)}\n`);
    return exitCodes.failure;
  }
  stderr.write(`error: ${describe(e)}\n`);
  return exitCodes.failure;
}

/** ApiError's message is `<code>: <msg>`; the CLI prints the code itself. */
export function apiMessage(e: ApiError): string {
  const prefix = `${e.code}: `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

/** fetch failures hide the useful part (ECONNREFUSED, ENOTFOUND) in `cause`. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = e.cause instanceof Error ? e.cause.message : undefined;
  if (e.message === 'fetch failed') return `cannot reach the hub${cause ? `: ${cause}` : ''}`;
  return cause ? `${e.message}: ${cause}` : e.message;
}
