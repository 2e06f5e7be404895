import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, spawnHub, type SpawnedHub } from '../src/spawn-hub.js';

/**
 * The README's tour, run as written: its shell blocks are read from README.md (never copied here)
 * and run in one bash with `set -euo pipefail` against a freshly spawned hub, so a README command
 * that breaks fails this test. Needs mosquitto-clients, jq and curl (CI installs them).
 */
export function tourScript(readme: string): string {
  const start = readme.indexOf('## A five-minute tour');
  if (start < 0) throw new Error('README.md has no "## A five-minute tour" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  if (blocks.length === 0) throw new Error('the tour has no ```sh blocks');
  return blocks.join('\n');
}

function runBash(script: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -euo pipefail\n${script}`], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('README tour', () => {
  let hub: SpawnedHub;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'readme-tour-'));
    // The hub as `npm start` runs it, with its default EnOS connect throttle, on free ports.
    hub = await spawnHub({ HUB_DATA_DIR: dataDir, HUB_MQTT_CONNECT_THROTTLE: 'true' });
  });

  afterAll(async () => {
    await hub?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('extracts every shell block of the tour section', async () => {
    const script = tourScript(await readFile(join(repoRoot, 'README.md'), 'utf8'));
    expect(script).toContain('npm run -s cli -- login');
    expect(script).toContain('mosquitto_rr');
    expect(script).toContain('apim-signature');
  });

  it('runs from login to a refused measurepoint, with no placeholder to fill in', async () => {
    const script = tourScript(await readFile(join(repoRoot, 'README.md'), 'utf8'));
    const mqttPort = new URL(hub.mqttUrl!).port;
    const r = await runBash(script, { HUB_URL: hub.baseUrl, HUB_MQTT_PORT: mqttPort, HUB_DATA_DIR: dataDir });
    expect(r.code, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).toBe(0);
    expect(r.stdout).toMatch(/gateway product \w{8}, inverter product \w{8}/);
    expect(r.stdout).toContain('created 2 of 2 devices');
    // The device's two posts: accepted, then refused by the thing model.
    expect(r.stdout).toMatch(/"id":\s*"1",\s*"code":\s*200/);
    expect(r.stdout).toMatch(/"id":\s*"2",\s*"code":\s*1204/);
    expect(r.stdout).toMatch(/^power\s+4\.2\s/m);
    expect(r.stdout).not.toMatch(/^speed\s/m);
    expect(r.stdout).toContain('inv-001 is online');
    // The curl block found the gateway product the tour created.
    expect(r.stdout).toMatch(/^"\w{8}"$/m);
  }, 240_000);
});
