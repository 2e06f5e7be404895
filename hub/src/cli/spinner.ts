import yoctoSpinner from 'yocto-spinner';

export interface Spinner {
  stop(): void;
}

/**
 * A spinner on stderr while the CLI waits (for a device's reply): on a terminal only, so that a
 * pipe or a log file gets no control codes. `quiet` (--json) shows nothing at all.
 */
export function startSpinner(text: string, quiet = false, stream: NodeJS.WriteStream = process.stderr): Spinner {
  if (quiet || !stream.isTTY) return { stop: () => {} };
  const spinner = yoctoSpinner({ text, stream }).start();
  return { stop: () => void spinner.stop() };
}

/** Runs `work` with a spinner that stops whatever the outcome. */
export async function withSpinner<T>(text: string, quiet: boolean, work: () => Promise<T>): Promise<T> {
  const spinner = startSpinner(text, quiet);
  try {
    return await work();
  } finally {
    spinner.stop();
  }
}
