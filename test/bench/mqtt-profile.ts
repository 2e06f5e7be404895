/**
 * CPU profiles of the spawned hub over a fan-in window (BENCH_PROFILE=<dir>, test/bench/mqtt-bench.ts).
 *
 * The hub is started with `--inspect=127.0.0.1:0` (no session attached: nothing is sampled and the
 * measured runs are unaffected); for a profiled run the bench attaches over the DevTools protocol,
 * samples exactly the window the load generator measures, writes `<dir>/<name>.cpuprofile` (open in
 * Chrome DevTools or speedscope) and prints self time per delivered message by file and by function.
 * The divisor is the hub's own count of replies sent with code 200 (`edgehub_mqtt_replies_total`)
 * over the same window, read from its /metrics.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Profiler } from 'node:inspector';
import WebSocket from 'ws';
import { repoRoot } from '../src/index.js';

/** A DevTools protocol connection to one Node process (the hub's inspector). */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const msg = JSON.parse(data.toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (!p || msg.id === undefined) return;
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result);
    });
  }

  static async open(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new Inspector(ws);
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** The inspector URL a process printed (`Debugger listening on ws://…`). */
export function inspectorUrlIn(output: string): string | undefined {
  return /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1];
}

/** Starts sampling the process behind `url` (every 100 µs); `stop` returns the profile. */
export async function startRemoteProfile(url: string): Promise<{ stop(): Promise<Profiler.Profile> }> {
  const inspector = await Inspector.open(url);
  await inspector.send('Profiler.enable');
  await inspector.send('Profiler.setSamplingInterval', { interval: 100 });
  await inspector.send('Profiler.start');
  return {
    async stop() {
      const { profile } = (await inspector.send('Profiler.stop')) as { profile: Profiler.Profile };
      await inspector.send('Profiler.disable');
      inspector.close();
      return profile;
    },
  };
}

/** Where a sampled function lives: a repository file, an npm package, a node: builtin, or V8 itself. */
function where(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return `npm:${rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (path.startsWith('node:')) return path;
  return relative(repoRoot, path);
}

export interface ProfileSummary {
  file: string;
  /** Sampled CPU (everything but idle) per message, µs. */
  totalUs: number;
  byFile: { name: string; us: number }[];
  byFunction: { name: string; us: number }[];
  text: string;
}

/** Self time per message by file and by function; `(garbage collector)`, `(program)` are V8's own. */
export async function summarizeProfile(profile: Profiler.Profile, messages: number, dir: string, name: string): Promise<ProfileSummary> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${name}.cpuprofile`);
  await writeFile(file, JSON.stringify(profile));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? deltas[i] ?? 0));
  const byFile = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    const f = node.callFrame;
    if (us === 0 || f.functionName === '(idle)') continue;
    total += us;
    const at = f.url ? where(f.url) : `(${f.functionName || 'anonymous'})`;
    byFile.set(at, (byFile.get(at) ?? 0) + us);
    const fn = `${f.functionName || '(anonymous)'} ${at}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({ name: k, us: us / messages }));
  const files = top(byFile, 25);
  const functions = top(byFunction, 40);
  const line = (x: { name: string; us: number }) => `  ${x.us.toFixed(2).padStart(8)}  ${x.name}`;
  const text = [
    `${name}: ${messages} messages, ${(total / messages).toFixed(1)} µs of sampled CPU per message (${file})`,
    'self time by file (µs per message):',
    ...files.map(line),
    'self time by function (µs per message):',
    ...functions.map(line),
  ].join('\n');
  return { file, totalUs: total / messages, byFile: files, byFunction: functions, text };
}

/** `edgehub_mqtt_replies_total{code="200"}` of a hub, from its /metrics. */
export async function repliesSent(baseUrl: string): Promise<number> {
  const res = await fetch(`${baseUrl}/metrics`);
  const text = await res.text();
  const m = /^edgehub_mqtt_replies_total\{code="200"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}
