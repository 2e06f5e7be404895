import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, created: number, failed: number): void;
  stop(): void;
}

/** A bar on a terminal; on a pipe or a log file, one plain line per update instead of control codes. */
export function startProgress(total: number, start = 0, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) {
    return {
      update: (done, created, failed) => stream.write(`processed ${done}/${total} rows (created ${created}, failed ${failed})\n`),
      stop: () => {},
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'importing {bar} {value}/{total} rows | created {created} | failed {failed} | eta {eta_formatted}',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, start, { created: 0, failed: start });
  return {
    update: (done, created, failed) => bar.update(done, { created, failed }),
    stop: () => bar.stop(),
  };
}
