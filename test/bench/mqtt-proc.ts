/**
 * What the MQTT benchmarks read about a process from /proc (Linux only), and CPU pinning with
 * taskset (util-linux). Used by the orchestrator and by the load generator, which samples the
 * broker's CPU over exactly its own measurement window.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** How long a broker must stay (nearly) idle before a storm phase's CPU time is read: deferred work counts. */
export const QUIET_MS = 250;
/** "Idle": less than this share of a core over QUIET_MS. */
export const QUIET_SHARE = 0.05;

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** CPU seconds (user + system, all threads) the process has used so far. */
export function cpuSeconds(pid: number, clkTck: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line, i.e. 11 and 12 after the name.
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

/** Resident set size in bytes (VmRSS of /proc/<pid>/status), and its anonymous part (RssAnon: heap, stacks, buffers; not mapped files). */
export function residentBytes(pid: number): { rss: number; anon: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, 'm').exec(status);
    if (!m) throw new Error(`no ${field} for process ${pid}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), anon: kb('RssAnon') };
}

let hasTaskset: boolean | undefined;

/** Whether `taskset` is installed and the machine has a CPU 1 to put the load generator on. */
export function canPin(): boolean {
  if (hasTaskset === undefined) {
    try {
      execFileSync('taskset', ['-c', '0,1', 'true'], { stdio: 'ignore' });
      hasTaskset = true;
    } catch {
      hasTaskset = false;
    }
  }
  return hasTaskset;
}

/** `taskset -c <cpu>` prefix for spawn, or nothing when pinning is unavailable. */
export function pinnedCommand(cpu: number, command: string, args: string[]): [string, string[]] {
  return canPin() ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];
}

/** Pins an already running process, every thread of it, to one CPU (threads it starts later inherit it). */
export function pinProcess(pid: number, cpu: number): void {
  if (canPin()) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' });
}

/**
 * Seconds each CPU has spent running tasks (user + nice + system) or stolen by the hypervisor
 * (steal), from /proc/stat; index = CPU number. Interrupt time is left out.
 */
export function cpuBusySeconds(clkTck: number): number[] {
  const busy: number[] = [];
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [user = 0, nice = 0, system = 0, , , , , steal = 0] = m[2]!.split(/\s+/).map(Number);
    busy[Number(m[1])] = (user + nice + system + steal) / clkTck;
  }
  return busy;
}

/** Listen-queue overflows and SYNs dropped at listening sockets, machine-wide (/proc/net/netstat). */
export function listenDrops(): { overflows: number; drops: number } {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const i = lines.findIndex((l) => l.startsWith('TcpExt:'));
  const names = lines[i]?.split(/\s+/) ?? [];
  const values = lines[i + 1]?.split(/\s+/) ?? [];
  const get = (name: string) => Number(values[names.indexOf(name)] ?? NaN);
  return { overflows: get('ListenOverflows'), drops: get('ListenDrops') };
}
