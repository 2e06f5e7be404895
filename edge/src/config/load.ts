import { readFile, stat } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { describeSchemaError } from './schema-errors.js';
import { validateEdgeConfig } from './validators.generated.js';
import type { EdgeConfig } from './types.js';
import { parseRegisterMap } from '../southbound/register-map.js';
import { checkSouthboundDevices } from '../southbound-factory.js';

export class EdgeConfigError extends Error {
  override name = 'EdgeConfigError';
}

/** The schema (schema.ts) compiled ahead of time by Ajv (validators.ts). */
const validate = validateEdgeConfig;

/** Reads, validates and completes an edge config file; every error names the key. */
export async function loadEdgeConfig(file: string, warn: (msg: string) => void = () => undefined): Promise<EdgeConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new EdgeConfigError(`${file}: ${(e as Error).message}`);
  }
  // JSON with // and /* */ comments (what `edgehub edge init` writes); nothing else is relaxed.
  const errors: ParseError[] = [];
  const raw: unknown = parseJsonc(text, errors, { allowTrailingComma: false, disallowComments: false });
  const first = errors[0];
  if (first) {
    const line = text.slice(0, first.offset).split('\n').length;
    throw new EdgeConfigError(`${file}: not valid JSON (${printParseErrorCode(first.error)} at line ${line})`);
  }
  if (!validate(raw)) {
    throw new EdgeConfigError(`${file}: ${describeSchemaError(validate.errors!)}`);
  }
  const c = raw;
  const configDir = dirname(resolve(file));
  const at = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  const secret = async (holder: object, name: string, keyPath: string): Promise<string> => {
    const fields = holder as Record<string, unknown>;
    const inline = fields[name];
    const fileName = fields[`${name}File`];
    if (inline !== undefined && fileName !== undefined)
      throw new EdgeConfigError(`${file}: ${keyPath}: give ${name} or ${name}File, not both`);
    if (typeof inline === 'string') return inline;
    if (typeof fileName !== 'string') throw new EdgeConfigError(`${file}: ${keyPath}: ${name} or ${name}File is required`);
    const path = at(fileName);
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

  const models = c.southbound.models;
  const devices = c.southbound.devices;
  const seen = new Set<string>();
  for (const [i, d] of devices.entries()) {
    if (seen.has(d.deviceKey)) throw new EdgeConfigError(`${file}: southbound.devices[${i}].deviceKey: "${d.deviceKey}" appears twice`);
    seen.add(d.deviceKey);
  }
  for (const [i, d] of (c.localMqtt?.devices ?? []).entries()) {
    if (seen.has(d.deviceKey)) throw new EdgeConfigError(`${file}: localMqtt.devices[${i}].deviceKey: "${d.deviceKey}" appears twice`);
    seen.add(d.deviceKey);
  }
  // The runtime's own checks, before anything starts or registers: what loads also runs.
  try {
    for (const [name, m] of Object.entries(models)) parseRegisterMap(m, `southbound.models.${name}`);
    checkSouthboundDevices(devices, models);
  } catch (e) {
    throw new EdgeConfigError(`${file}: ${(e as Error).message}`);
  }
  const uplink = c.uplink ?? {};
  const buffer = c.buffer ?? {};
  const center = c.configCenter ?? {};
  const gatewaySecret = await secret(c.identity.gateway, 'deviceSecret', 'identity.gateway');
  // The config center's token: its own, or by default the gateway's device secret (docs/ARCHITECTURE.md).
  const centerToken =
    center.token !== undefined || center.tokenFile !== undefined ? await secret(center, 'token', 'configCenter') : gatewaySecret;
  return {
    configDir,
    hub: { ...c.hub, ...(c.hub.caFile ? { caFile: at(c.hub.caFile) } : {}) },
    identity: {
      orgId: c.identity.orgId,
      serviceAccount: {
        accessKey: c.identity.serviceAccount.accessKey,
        accessSecret: await secret(c.identity.serviceAccount, 'accessSecret', 'identity.serviceAccount'),
      },
      gateway: { productKey: c.identity.gateway.productKey, deviceKey: c.identity.gateway.deviceKey, deviceSecret: gatewaySecret },
      subDeviceProductKey: c.identity.subDeviceProductKey,
    },
    registration: c.registration ?? 'dynamic',
    certificate: c.certificate ? { ...c.certificate, dir: at(c.certificate.dir) } : { mode: 'off', dir: at('certs') },
    southbound: {
      models,
      devices,
      reconnectMinMs: c.southbound.reconnectMinMs ?? 1000,
      reconnectMaxMs: c.southbound.reconnectMaxMs ?? 30_000,
    },
    buffer: {
      dir: at(buffer.dir ?? 'buffer'),
      maxBytes: buffer.maxBytes ?? 256 * 1024 * 1024,
      maxAgeMs: buffer.maxAgeMs ?? 7 * 86_400_000,
      dropPolicy: buffer.dropPolicy ?? 'drop-oldest',
    },
    configCenter: { host: center.host ?? '127.0.0.1', port: center.port ?? 8090, token: centerToken },
    ...(c.localMqtt
      ? { localMqtt: { host: c.localMqtt.host ?? '127.0.0.1', port: c.localMqtt.port ?? 1883, devices: c.localMqtt.devices } }
      : {}),
    uplink: {
      keepalive: uplink.keepalive ?? 60,
      reconnectMinMs: uplink.reconnectMinMs ?? 1000,
      reconnectMaxMs: uplink.reconnectMaxMs ?? 60_000,
      replyTimeoutMs: uplink.replyTimeoutMs ?? 10_000,
      maxOnlineSubDevices: uplink.maxOnlineSubDevices ?? 200,
    },
  };
}
