/**
 * openHub begins the certificate service (on a first start: a new CA) before it opens the stores,
 * and awaits it where the broker needs it (hub/src/hub.ts, docs/BENCHMARKS.md "Start-up"). A
 * start that fails on either side fails with that side's error, and leaves nothing open behind it:
 * the same data directory starts again in the same process once the cause is gone.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, type HubConfig } from '../src/config.js';
import { openHub } from '../src/hub.js';

function configFor(dataDir: string): HubConfig {
  return loadConfig({
    LOG_LEVEL: 'silent',
    HUB_DATA_DIR: dataDir,
    HUB_HTTP_PORT: '0',
    HUB_MQTT_PORT: '0',
    HUB_MQTTS_PORT: '0',
    HUB_MQTT_WS_PORT: '0',
  });
}

describe('hub start: the certificate service alongside the stores', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'hub-start-order-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("fails with the store's error when the registry cannot be opened, and does not keep the new CA's service open", async () => {
    // A file where the registry's directory belongs: the store fails while the CA is being made.
    await writeFile(join(dataDir, 'registry'), 'not a directory');
    await expect(openHub(configFor(dataDir))).rejects.toThrow(/registry/);
    // The failed start ended what it had begun before answering: the CA it was making is complete
    // (renamed into place), and its certificate store is closed again (lock released).
    expect((await stat(join(dataDir, 'certificates', 'ca', 'ECC.key'))).mode & 0o777).toBe(0o600);
    await expect(stat(join(dataDir, 'certificates', 'certificates.lock'))).rejects.toMatchObject({ code: 'ENOENT' });

    await rm(join(dataDir, 'registry'));
    // The certificate store's lock was released: the second start in this process is not refused.
    const hub = await openHub(configFor(dataDir));
    try {
      expect(hub.certificates?.service).toBeDefined();
      expect((await stat(join(dataDir, 'certificates', 'ca', 'root.key'))).mode & 0o777).toBe(0o600);
    } finally {
      await hub.close();
    }
  }, 60_000);

  it("fails with the certificate service's error when the CA cannot be created", async () => {
    // A file where the certificate service's directory belongs.
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'certificates'), 'not a directory');
    await expect(openHub(configFor(dataDir))).rejects.toThrow(/certificates/);
  }, 60_000);
});
