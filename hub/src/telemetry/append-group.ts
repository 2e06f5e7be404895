/**
 * Group commit of single posts (docs/PERFORMANCE-NOTES.md, "Telemetry store"): the samples of every
 * post that reaches ingestion in the same turn of the event loop go to the store as one append,
 * i.e. one write job, and each series' latest value moves once for the group, instead of a write
 * per post. Nothing is acknowledged earlier than before: every post's promise resolves only when
 * the append holding its samples has been committed to disk.
 *
 * `minGapMs` (HUB_TELEMETRY_COMMIT_GAP_MS, default 0) spaces the group appends: a group opened
 * sooner than that after the previous one started waits out the rest, gathering the posts of
 * every turn meanwhile. Fewer, larger commits cost the node less CPU per post (each commit is a
 * thread hand-off, page writes and two syncs) for up to that much more latency
 * (docs/BENCHMARKS.md, "Device → application latency: the tail").
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

export interface AppendGroupOptions {
  /** Told how long each group append took, in seconds (the hub's `edgehub_telemetry_append_seconds`). */
  timed?: (seconds: number) => void;
  /** Least time between the starts of two group appends, in milliseconds (0: none). */
  minGapMs?: number;
}

export class AppendGroups {
  private open: Group | undefined;
  /** When the last group append started (performance.now()). */
  private lastStart = Number.NEGATIVE_INFINITY;
  private readonly timed: ((seconds: number) => void) | undefined;
  private readonly minGapMs: number;

  constructor(
    private readonly store: Pick<TelemetryStore, 'appendMeasurepoints'>,
    options: AppendGroupOptions = {},
  ) {
    this.timed = options.timed;
    this.minGapMs = options.minGapMs ?? 0;
  }

  /** Appends one post's samples with those of the other posts of its group; resolves once they are durable. */
  async append(samples: SampleInput[]): Promise<void> {
    const group = this.open ?? this.start();
    for (const s of samples) group.samples.push(s);
    await group.done;
    // The group was refused as a whole: this post alone decides its own fate.
    if (group.failed) await this.store.appendMeasurepoints(samples);
  }

  private start(): Group {
    let release!: () => void;
    const group: Group = { samples: [], failed: false, done: new Promise<void>((resolve) => (release = resolve)) };
    this.open = group;
    const flush = () => {
      this.open = undefined;
      const started = performance.now();
      this.lastStart = started;
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
    };
    // After the current turn's I/O callbacks: every post read in this turn joins the group; with
    // a gap to keep, the posts of the turns until then as well.
    const wait = this.minGapMs - (performance.now() - this.lastStart);
    if (wait >= 1) setTimeout(flush, wait);
    else setImmediate(flush);
    return group;
  }
}
