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
