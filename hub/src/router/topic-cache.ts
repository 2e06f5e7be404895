import { topics, type ParsedTopic } from '@edgehub/shared';

/** Distinct topic names remembered; a device posts to a handful, a gateway to a handful per sub-device. */
const MAX_ENTRIES = 50_000;

/** A topic name as the router needs it: parsed (undefined: not an EnOS topic) and its reply topic. */
export interface RoutedTopic {
  parsed: ParsedTopic | undefined;
  reply: string;
}

/**
 * `topics.parse` once per distinct topic name rather than once per message: a device publishes to
 * the same few topics over and over, and parsing (split, segment checks, the kind table) was a
 * visible share of the per-message cost (docs/BENCHMARKS.md, "MQTT fan-in: where the time goes").
 * Parsing depends on the name alone, so entries never go stale; the cache is emptied when full.
 * Entries are frozen: handlers share them.
 */
export class TopicCache {
  private readonly byName = new Map<string, RoutedTopic>();

  of(name: string): RoutedTopic {
    let t = this.byName.get(name);
    if (t === undefined) {
      const parsed = topics.parse(name);
      t = Object.freeze({ parsed: parsed && Object.freeze(parsed), reply: topics.reply(name) });
      if (this.byName.size >= MAX_ENTRIES) this.byName.clear();
      this.byName.set(name, t);
    }
    return t;
  }
}
