import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { release, tmpdir, totalmem } from 'node:os';

export interface Machine {
  nproc: string;
  cpuModel: string;
  memoryGiB: string;
  node: string;
  kernel: string;
  /** Filesystem of the temp dir, where the LMDB stores live (their commits sync to it). */
  tmpFilesystem: string;
}

function run(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

export function describeMachine(): Machine {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown';
  } catch {
    // not Linux: keep "unknown"
  }
  const df = run('df', ['-T', tmpdir()])?.split('\n')[1]?.split(/\s+/);
  return {
    nproc: run('nproc', []) ?? 'unknown',
    cpuModel,
    memoryGiB: (totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    kernel: `${process.platform} ${release()}`,
    tmpFilesystem: df ? `${df[1]} (${df[0]})` : 'unknown',
  };
}
