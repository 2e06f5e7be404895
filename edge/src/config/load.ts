import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { edgeConfigSchema } from './schema.js';
import type { EdgeConfig } from './types.js';

export class EdgeConfigError extends Error {
  override name = 'EdgeConfigError';
}

// strictRequired is off: the oneOf branches name a secret or its file, defined one level up.
const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });
const validate = ajv.compile(edgeConfigSchema);

/** Where in the file a schema error is, as a dotted key path: `southbound.devices[0].port`. */
function where(e: ErrorObject): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('')
    .replace(/^\./, '');
  if (e.keyword === 'additionalProperties') return `${path ? path + '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}`;
  if (e.keyword === 'required') return `${path ? path + '.' : ''}${(e.params as { missingProperty: string }).missingProperty}`;
  return path || '(root)';
}

function explain(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return 'is not a known key';
  if (e.keyword === 'required') return 'is required';
  return e.message ?? 'is invalid';
}

/** Reads, validates and completes an edge config file; every error names the key. */
export async function loadEdgeConfig(file: string, warn: (msg: string) => void = () => undefined): Promise<EdgeConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new EdgeConfigError(`${file}: ${e instanceof SyntaxError ? `not valid JSON (${e.message})` : (e as Error).message}`);
  }
  if (!validate(raw)) {
    const e = validate.errors![0]!;
    throw new EdgeConfigError(`${file}: ${where(e)} ${explain(e)}`);
  }
  const c = raw as Record<string, any>;
  const configDir = dirname(resolve(file));
  const at = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  const secret = async (obj: Record<string, string>, name: string, keyPath: string): Promise<string> => {
    if (obj[name] !== undefined) return obj[name]!;
    const path = at(obj[`${name}File`]!);
    let st;
    try {
      st = await stat(path);
    } catch {
      throw new EdgeConfigError(`${file}: ${keyPath}.${name}File: cannot read ${path}`);
    }
    if ((st.mode & 0o077) !== 0) warn(`${keyPath}.${name}File (${path}) is readable by other users; chmod 600 it`);
    const value = (await readFile(path, 'utf8')).trim();
    if (!value) throw new EdgeConfigError(`${file}: ${keyPath}.${name}File: ${path} is empty`);
    return value;
  };

  const models = c['southbound'].models as EdgeConfig['southbound']['models'];
  const seen = new Set<string>();
  for (const [i, d] of (c['southbound'].devices as EdgeConfig['southbound']['devices']).entries()) {
    if (!models[d.model]) throw new EdgeConfigError(`${file}: southbound.devices[${i}].model: no model named "${d.model}" in southbound.models`);
    if (seen.has(d.deviceKey)) throw new EdgeConfigError(`${file}: southbound.devices[${i}].deviceKey: "${d.deviceKey}" appears twice`);
    seen.add(d.deviceKey);
  }
  for (const [i, d] of ((c['localMqtt']?.devices ?? []) as { deviceKey: string }[]).entries()) {
    if (seen.has(d.deviceKey)) throw new EdgeConfigError(`${file}: localMqtt.devices[${i}].deviceKey: "${d.deviceKey}" appears twice`);
    seen.add(d.deviceKey);
  }
  for (const [name, m] of Object.entries(models)) {
    for (const [pid, p] of Object.entries(m.points)) {
      const bits = p.type === 'bool' ? 1 : 16;
      if ((p.fc === 1 || p.fc === 2) !== (bits === 1)) throw new EdgeConfigError(`${file}: southbound.models.${name}.points.${pid}.type: function code ${p.fc} reads ${p.fc <= 2 ? 'bits (type bool)' : 'registers (not bool)'}`);
      if (p.writable && (p.fc === 2 || p.fc === 4)) throw new EdgeConfigError(`${file}: southbound.models.${name}.points.${pid}.writable: inputs (fc ${p.fc}) are read-only`);
    }
  }
  const uplink = c['uplink'] ?? {};
  const buffer = c['buffer'] ?? {};
  return {
    configDir,
    hub: { ...c['hub'], ...(c['hub'].caFile ? { caFile: at(c['hub'].caFile) } : {}) },
    identity: {
      orgId: c['identity'].orgId,
      serviceAccount: { accessKey: c['identity'].serviceAccount.accessKey, accessSecret: await secret(c['identity'].serviceAccount, 'accessSecret', 'identity.serviceAccount') },
      gateway: { productKey: c['identity'].gateway.productKey, deviceKey: c['identity'].gateway.deviceKey, deviceSecret: await secret(c['identity'].gateway, 'deviceSecret', 'identity.gateway') },
      subDeviceProductKey: c['identity'].subDeviceProductKey,
    },
    registration: c['registration'] ?? 'dynamic',
    certificate: c['certificate'] ? { ...c['certificate'], dir: at(c['certificate'].dir) } : { mode: 'off', dir: at('certs') },
    southbound: { models, devices: c['southbound'].devices },
    buffer: { dir: at(buffer.dir ?? 'buffer'), maxBytes: buffer.maxBytes ?? 256 * 1024 * 1024, maxAgeMs: buffer.maxAgeMs ?? 7 * 86_400_000, dropPolicy: buffer.dropPolicy ?? 'drop-oldest' },
    configCenter: { host: c['configCenter']?.host ?? '127.0.0.1', port: c['configCenter']?.port ?? 8090 },
    ...(c['localMqtt'] ? { localMqtt: { host: c['localMqtt'].host ?? '127.0.0.1', port: c['localMqtt'].port ?? 1883, devices: c['localMqtt'].devices } } : {}),
    uplink: {
      keepalive: uplink.keepalive ?? 60,
      reconnectMinMs: uplink.reconnectMinMs ?? 1000,
      reconnectMaxMs: uplink.reconnectMaxMs ?? 60_000,
      replyTimeoutMs: uplink.replyTimeoutMs ?? 10_000,
      maxOnlineSubDevices: uplink.maxOnlineSubDevices ?? 200,
    },
  };
}
