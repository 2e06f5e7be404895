import { describe, expect, it } from 'vitest';
import { variablesDocumented, variablesReadIn } from './env-readers.js';
import { readRepoFile, textFiles } from './repo.js';

/**
 * docs/CONFIGURATION.md is the one list of environment variables: every variable a program reads
 * has a row there, and every row names a variable some program still reads.
 */
const sources = textFiles().filter((f) => /^[a-z-]+\/src\/.*\.ts$/.test(f) && !f.startsWith('test/'));

function readByCode(): Map<string, string[]> {
  const where = new Map<string, string[]>();
  for (const file of sources) {
    for (const name of variablesReadIn(readRepoFile(file))) where.set(name, [...(where.get(name) ?? []), file]);
  }
  return where;
}

describe('docs/CONFIGURATION.md', () => {
  it('finds variables the ways the config readers read them', () => {
    const hubStyle = "const a = env['HUB_HTTP_PORT']; int('HUB_MQTT_PORT', 1, 0, 2); process.env.REDIS_URL;";
    expect([...variablesReadIn(hubStyle)].sort()).toEqual(['HUB_HTTP_PORT', 'HUB_MQTT_PORT', 'REDIS_URL']);
    const certStyle =
      "const get = (n) => env[`CERT_SERVICE_${n}`]; get('PORT'); int('SERIAL_BITS', 1); for (const field of ['C', 'ST'] as const) get(`CA_${field}`);";
    expect([...variablesReadIn(certStyle)].sort()).toEqual([
      'CERT_SERVICE_CA_C',
      'CERT_SERVICE_CA_ST',
      'CERT_SERVICE_PORT',
      'CERT_SERVICE_SERIAL_BITS',
    ]);
  });

  it('has a row for every variable the code reads', () => {
    const documented = variablesDocumented(readRepoFile('docs/CONFIGURATION.md'));
    const missing = [...readByCode()]
      .filter(([name]) => !documented.has(name))
      .map(([name, files]) => `${name} (read in ${files.join(', ')})`);
    expect(missing, 'add a row to docs/CONFIGURATION.md for each').toEqual([]);
  });

  it('documents no variable the code no longer reads', () => {
    const read = readByCode();
    const stale = [...variablesDocumented(readRepoFile('docs/CONFIGURATION.md'))].filter((name) => !read.has(name));
    expect(stale, 'remove these rows from docs/CONFIGURATION.md, or read the variable').toEqual([]);
  });

  it('covers the config readers of the hub, the certificate service and the edge', () => {
    const read = readByCode();
    for (const name of [
      'HUB_HTTP_PORT',
      'HUB_MQTT_PORT',
      'HUB_PUBLIC_URL',
      'CERT_SERVICE_PORT',
      'CERT_SERVICE_CA_O',
      'EDGE_TRACE',
      'EDGEHUB_CONFIG',
    ]) {
      expect(read.has(name), name).toBe(true);
    }
  });
});
