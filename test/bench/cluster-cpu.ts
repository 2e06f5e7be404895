/**
 * CPU accounting for the `cluster` and `cert` groups: user and system time of named processes and
 * busy time of each CPU between two snapshots (Linux /proc). System time is worth its own column
 * here: an fsync per telemetry commit or a socket write per message is kernel time charged to
 * the process that asked for it.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpuBusySeconds } from './mqtt-proc.js';

export interface CpuTimes {
  user: number;
  system: number;
}

/** User and system CPU seconds the process (all its threads) has used so far. */
export function cpuTimes(pid: number, clkTck: number): CpuTimes {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / clkTck, system: Number(fields[12]) / clkTck };
}

export interface CpuSnapshot {
  t: number;
  procs: Record<string, CpuTimes>;
  busy: number[];
}

export function snapshotCpu(pids: Record<string, number>, clkTck: number): CpuSnapshot {
  const procs: Record<string, CpuTimes> = {};
  for (const [name, pid] of Object.entries(pids)) {
    try {
      procs[name] = cpuTimes(pid, clkTck);
    } catch {
      // the process is gone: it used nothing more
    }
  }
  return { t: performance.now(), procs, busy: cpuBusySeconds(clkTck) };
}

/** Cores' worth of CPU (1 = one core fully busy) of one process over a window, and its kernel part. */
export interface ProcUsage {
  cores: number;
  system: number;
}

export interface CpuUsage {
  seconds: number;
  procs: Record<string, ProcUsage>;
  /** Busy cores per CPU (user + nice + system + steal), machine-wide. */
  cpus: number[];
  /** Everything on the machine that is not one of the named processes, in cores (≥ 0). */
  others: number;
}

export function usageBetween(a: CpuSnapshot, b: CpuSnapshot): CpuUsage {
  const seconds = (b.t - a.t) / 1000;
  const procs: Record<string, ProcUsage> = {};
  for (const [name, end] of Object.entries(b.procs)) {
    const start = a.procs[name];
    if (!start) continue;
    procs[name] = { cores: (end.user - start.user + end.system - start.system) / seconds, system: (end.system - start.system) / seconds };
  }
  const cpus = b.busy.map((v, i) => (v - (a.busy[i] ?? v)) / seconds);
  const ours = Object.values(procs).reduce((s, p) => s + p.cores, 0);
  return { seconds, procs, cpus, others: Math.max(0, cpus.reduce((s, v) => s + v, 0) - ours) };
}
