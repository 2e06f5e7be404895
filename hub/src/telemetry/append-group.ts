/**
 * Group commit of single posts (docs/PERFORMANCE-NOTES.md, "Telemetry store"): the samples of every
 * post that reaches ingestion in the same turn of the event loop go to the store as one append,
 * i.e. one child transaction, and each series' latest value moves once for the group, instead of a
 * transaction per post. Nothing is acknowledged earlier than before: every post's promise resolves
 * only when the append holding its samples has been committed to disk.
 *
 * A post stays all or nothing on its own: when a group append fails, each post of the group is
 * appended again by itself, so one post the store refuses fails alone and its neighbours are kept.
 */
import { performance } from 'node:perf_hooks';
import type { SampleInput, TelemetryStore } from './store/port.js';

interface Group {
  samples: SampleInput[];
  /** Settles when the group's append has; `failed` tells whether it was refused. */
  done: Promise<void>;
  failed: boolean;
}

export class AppendGroups {
  private open: Group | undefined;

  constructor(
    private readonly store: Pick<TelemetryStore, 'appendMeasurepoints'>,
    /** Told how long each group append took, in seconds (the hub's `edgehub_telemetry_append_seconds`). */
    private readonly timed?: (seconds: number) => void,
  ) {}

  /** Appends one post's samples with those of the other posts of this turn; resolves once they are durable. */
  async append(samples: SampleInput[]): Promise<void> {
    const group = this.open ?? this.start();
    group.samples.push(...samples);
    await group.done;
    // The group was refused as a whole: this post alone decides its own fate.
    if (group.failed) await this.store.appendMeasurepoints(samples);
  }

  private start(): Group {
    let release!: () => void;
    const group: Group = { samples: [], failed: false, done: new Promise<void>((resolve) => (release = resolve)) };
    this.open = group;
    // After the current turn's I/O callbacks: every post read in this turn joins the group.
    setImmediate(() => {
      this.open = undefined;
      const started = performance.now();
      this.store.appendMeasurepoints(group.samples).then(
        () => {
          this.timed?.((performance.now() - started) / 1000);
          release();
        },
        () => {
          group.failed = true;
          release();
        },
      );
    });
    return group;
  }
}
