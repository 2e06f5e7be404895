import cliProgress from 'cli-progress';

export interface CountProgress {
  increment(): void;
  stop(): void;
}

/**
 * A bar for long work counted in items (certificates renewed, …) on a terminal; on a pipe or a log
 * file nothing, so that stderr holds only the result's notices. The import has its own, richer one.
 */
export function startCountProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): CountProgress {
  if (!stream.isTTY || total === 0) return { increment: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { stream, format: `${label} {bar} {value}/{total} | eta {eta_formatted}`, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  return { increment: () => bar.increment(), stop: () => bar.stop() };
}
