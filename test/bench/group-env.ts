import type { RunningHub } from '../src/index.js';

/**
 * Settings a bench group gives its in-process hub through the environment. The groups run one after
 * another in one process (test/bench/main.ts), so what one group sets must be gone before the next
 * starts a hub: the iOS group's certificate paths, left behind after its temporary directory was
 * removed, made the Android group's hub fail at start.
 */
export function setGroupEnv(vars: Record<string, string>): () => void {
  const before = new Map(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  return () => {
    for (const [k, v] of before) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/**
 * Starts a group's in-process hub with `vars` in the environment, sets `orgVar` to the hub's admin
 * organization once it runs (the device type reads it when it first serves), and runs `body` on it.
 * Gives `body`'s result with a `close` that stops the hub and puts the environment back; a start
 * or a `body` that fails does both before the error goes on.
 */
export async function startGroupHub<T extends object>(
  vars: Record<string, string>,
  orgVar: string,
  start: () => Promise<RunningHub>,
  body: (h: RunningHub) => Promise<T>,
): Promise<T & { close(): Promise<void> }> {
  const restoreEnv = setGroupEnv(vars);
  let h: RunningHub | undefined;
  let restoreOrg = () => {};
  const close = async () => {
    await h?.close();
    restoreOrg();
    restoreEnv();
  };
  try {
    h = await start();
    restoreOrg = setGroupEnv({ [orgVar]: h.adminCreds.orgId });
    return { ...(await body(h)), close };
  } catch (err) {
    await close();
    throw err;
  }
}
