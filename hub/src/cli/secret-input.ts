import { readFile, stat } from 'node:fs/promises';
import { UsageError } from './errors.js';

/**
 * Where `login` reads a secret from. Never a command-line value: argv ends up in shell history
 * and in `ps` output for every user of the machine.
 */

export async function secretFromFile(path: string, warn: (msg: string) => void): Promise<string> {
  const text = await readInput(path, 'secret file');
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) warn(`warning: ${path} is readable by other users (mode ${mode.toString(8)})`);
  return nonEmpty(text.trim(), path);
}

/** All of stdin when piped; a prompt without echo when stdin is a terminal. */
export async function secretFromStdin(stdin: NodeJS.ReadStream = process.stdin): Promise<string> {
  if (stdin.isTTY) return nonEmpty((await promptHidden(stdin, 'access secret: ')).trim(), 'the terminal');
  let text = '';
  stdin.setEncoding('utf8');
  for await (const chunk of stdin) text += chunk as string;
  return nonEmpty(text.trim(), 'stdin');
}

/** The administrator credentials the hub writes on its first start (hub/src/bootstrap.ts). */
export interface CredentialsFileContent {
  orgId: string;
  accessKey: string;
  accessSecret: string;
}

export async function credentialsFromFile(path: string): Promise<CredentialsFileContent> {
  const text = await readInput(path, 'credentials file');
  let parsed: Partial<Record<keyof CredentialsFileContent, unknown>>;
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new UsageError(`${path} is not JSON`);
  }
  const { orgId, accessKey, accessSecret } = parsed;
  if (typeof orgId !== 'string' || typeof accessKey !== 'string' || typeof accessSecret !== 'string' || !accessSecret) {
    throw new UsageError(`${path} lacks orgId, accessKey or accessSecret`);
  }
  return { orgId, accessKey, accessSecret };
}

async function readInput(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function nonEmpty(secret: string, from: string): string {
  if (!secret) throw new UsageError(`no secret in ${from}`);
  return secret;
}

function promptHidden(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new UsageError('interrupted'));
          return;
        }
        value = ch === '\u007f' || ch === '\b' ? [...value].slice(0, -1).join('') : value + ch;
      }
    };
    stdin.on('data', onData);
  });
}
