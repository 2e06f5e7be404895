import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { repoRoot } from './spawn-hub.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The edgehub CLI as a user runs it: a real child process (`node --import tsx hub/src/cli/main.ts`)
 * with its credentials file at `configPath`. `start` leaves the process running (stream, waits).
 */
export function cliRunner(configPath: string, extraEnv: NodeJS.ProcessEnv = {}) {
  const start = (args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, EDGEHUB_CONFIG: configPath, NO_COLOR: '1', ...extraEnv, ...env };
    delete childEnv['EDGEHUB_PROFILE'];
    return spawn(process.execPath, ['--import', 'tsx', 'hub/src/cli/main.ts', ...args], { cwd: repoRoot, env: childEnv });
  };
  const run = async (args: readonly string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> => {
    const child = start(args, opts.env);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.stdin.end(opts.stdin ?? '');
    const code = await new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve));
    return { code, stdout, stderr };
  };
  return { run, start };
}
