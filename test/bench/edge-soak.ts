/**
 * The edge's memory over minutes rather than seconds: the edge (→ hub) and the bare polling loop
 * run side by side at the load for `seconds`, both on CPU 1, and their resident sets are
 * sampled every `sampleEveryS`. A short window sees a process before whatever it keeps per
 * request has built up: modbus-serial, for one, keeps each connection's last 256 transactions and
 * their results (docs/ARCHITECTURE.md, "The edge"), so its heap is not at its steady state before
 * every device has been polled 256 times.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBarePoller, startEdge, type BarePoller, type Farm } from './edge-procs.js';
import { cpuSeconds, residentBytes } from './mqtt-proc.js';

export interface SoakSample {
  /** Seconds since both processes were polling (the edge's first delivery). */
  t: number;
  edge: { rss: number; anon: number; cpuS: number };
  bare: { rss: number; anon: number; cpuS: number };
}

export interface SoakResult {
  intervalMs: number;
  seconds: number;
  samples: SoakSample[];
  /** Readings the edge had delivered (acknowledged by the hub) by the end, and polls of both together. */
  edgeSent: number;
  polls: number;
}

export interface SoakContext {
  /** Called at every sample, to show the run is alive (main.ts's watchdog). */
  progress(): void;
  farm: Farm;
  clkTck: number;
  devices: number;
  modbusTimeoutMs: number;
  /** Writes the edge's config for this poll interval into `dir`, returning the file. */
  writeConfig(dir: string, intervalMs: number): Promise<string>;
  gatewaySecret: string;
  log(msg: string): void;
}

export async function soakRun(ctx: SoakContext, intervalMs: number, seconds: number, sampleEveryS: number): Promise<SoakResult> {
  const dir = await mkdtemp(join(tmpdir(), 'edgehub-bench-soak-'));
  await ctx.farm.release();
  const edge = await startEdge(await ctx.writeConfig(dir, intervalMs), ctx.gatewaySecret);
  let bare: BarePoller | undefined;
  try {
    bare = await startBarePoller(ctx.farm.ports, intervalMs, ctx.modbusTimeoutMs);
    const deadline = Date.now() + 60_000;
    while ((await edge.status()).telemetry.sent < ctx.devices) {
      if (Date.now() > deadline) throw new Error(`soak: the edge delivered no full round within 60 s\n${edge.output().slice(-2000)}`);
      await sleep(200);
    }
    const servedBefore = await ctx.farm.served();
    const t0 = performance.now();
    const samples: SoakSample[] = [];
    const b = bare;
    const sample = (): void => {
      const e = residentBytes(edge.pid);
      const p = residentBytes(b.pid);
      samples.push({
        t: (performance.now() - t0) / 1000,
        edge: { ...e, cpuS: cpuSeconds(edge.pid, ctx.clkTck) },
        bare: { ...p, cpuS: cpuSeconds(b.pid, ctx.clkTck) },
      });
    };
    sample();
    for (let k = 1; k * sampleEveryS <= seconds; k++) {
      await sleep(Math.max(0, t0 + k * sampleEveryS * 1000 - performance.now()));
      sample();
      ctx.progress();
      if (k % 6 === 0) {
        const s = samples[samples.length - 1]!;
        ctx.log(
          `soak ${s.t.toFixed(0)} s: edge ${(s.edge.rss / 2 ** 20).toFixed(1)} MiB, bare loop ${(s.bare.rss / 2 ** 20).toFixed(1)} MiB`,
        );
      }
    }
    const status = await edge.status();
    if (!status.uplink.connected) throw new Error('soak: the edge lost its uplink');
    return { intervalMs, seconds, samples, edgeSent: status.telemetry.sent, polls: (await ctx.farm.served()) - servedBefore };
  } finally {
    await bare?.stop();
    await edge.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
