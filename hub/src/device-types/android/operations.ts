/**
 * Android operations (docs/DEVICE-MANAGEMENT.md, "Android: operations"): the Entgra operation codes
 * the Android agent executes, the operation type each is sent as, and a validator per code for its
 * JSON payload. A payload is checked when the operation is issued (a bad one is refused before it
 * is stored) and rendered into the agent's Operation JSON when the device fetches it.
 */

export class AndroidPayloadError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AndroidPayloadError';
  }
}

/** Entgra operation types as the agent sees them. */
export type AndroidOperationType = 'COMMAND' | 'PROFILE' | 'POLICY';

type Payload = Record<string, unknown>;
/** Validates a payload; returns what the agent receives as `payLoad` (null when the operation has none). */
type Validator = (p: Payload) => unknown;

function optString(p: Payload, key: string, max = 1024): string | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max) throw new AndroidPayloadError(key, `${key} must be a string of at most ${max} characters`);
  return v;
}

function reqString(p: Payload, key: string, max = 1024): string {
  const v = optString(p, key, max);
  if (v === undefined || v === '') throw new AndroidPayloadError(key, `${key} is required`);
  return v;
}

function optBool(p: Payload, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new AndroidPayloadError(key, `${key} must be a boolean`);
  return v;
}

function optHttpsUrl(p: Payload, key: string): string | undefined {
  const v = optString(p, key, 2048);
  if (v !== undefined && !/^https?:\/\/[^\s]+$/.test(v)) throw new AndroidPayloadError(key, `${key} must be an http(s) URL`);
  return v;
}

function onlyKeys(p: Payload, keys: readonly string[]): void {
  const extra = Object.keys(p).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw new AndroidPayloadError(extra[0]!, `unknown field ${extra[0]!}`);
}

/** Drops undefined values (JSON has no "absent"). */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

const none: Validator = (p) => {
  onlyKeys(p, []);
  return null;
};

/** A flat settings object (passcode rules, VPN, Wi-Fi …): scalar values only, bounded. */
const settings: Validator = (p) => {
  const entries = Object.entries(p);
  if (entries.length === 0) throw new AndroidPayloadError('payload', 'at least one setting is required');
  if (entries.length > 64) throw new AndroidPayloadError('payload', 'at most 64 settings');
  for (const [k, v] of entries) {
    const ok = typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || (typeof v === 'string' && v.length <= 1024);
    if (!ok) throw new AndroidPayloadError(k, `${k} must be a boolean, a number or a string of at most 1024 characters`);
  }
  return p;
};

const appTypes = ['enterprise', 'public', 'webapp'] as const;

const application: Validator = (p) => {
  onlyKeys(p, ['appIdentifier', 'type', 'url', 'schedule', 'version']);
  const type = optString(p, 'type', 16) ?? 'enterprise';
  if (!(appTypes as readonly string[]).includes(type)) throw new AndroidPayloadError('type', `type must be one of ${appTypes.join(', ')}`);
  const url = optHttpsUrl(p, 'url');
  if (type !== 'public' && url === undefined) throw new AndroidPayloadError('url', `url is required for ${type} applications`);
  const schedule = optString(p, 'schedule', 64);
  if (schedule !== undefined && Number.isNaN(Date.parse(schedule)))
    throw new AndroidPayloadError('schedule', 'schedule must be an ISO date');
  return compact({ appIdentifier: reqString(p, 'appIdentifier', 256), type, url, schedule, version: optString(p, 'version', 64) });
};

const policyFeature = (f: unknown, i: number): { code: string; type: 'PROFILE'; enabled: true; payLoad: unknown } => {
  if (f === null || typeof f !== 'object' || Array.isArray(f)) throw new AndroidPayloadError(`features[${i}]`, 'a feature is an object');
  const { featureCode, content } = f as Payload;
  if (typeof featureCode !== 'string') throw new AndroidPayloadError(`features[${i}].featureCode`, 'featureCode is required');
  const spec = androidOperations[featureCode];
  if (!spec || spec.type !== 'PROFILE')
    throw new AndroidPayloadError(`features[${i}].featureCode`, `${featureCode} is not an Android profile feature`);
  const c = content ?? {};
  if (c === null || typeof c !== 'object' || Array.isArray(c))
    throw new AndroidPayloadError(`features[${i}].content`, 'content is an object');
  return { code: featureCode, type: 'PROFILE', enabled: true, payLoad: spec.validate(c as Payload) };
};

/**
 * POLICY_BUNDLE payload: `{policyId, features: [{featureCode, content}]}` (Entgra ProfileFeature);
 * the agent receives `payLoad` as the list of profile operations, one per feature.
 */
const policyBundle: Validator = (p) => {
  onlyKeys(p, ['policyId', 'policyName', 'compliance', 'features']);
  const { policyId, features } = p;
  if (typeof policyId !== 'string' && typeof policyId !== 'number') throw new AndroidPayloadError('policyId', 'policyId is required');
  if (!Array.isArray(features) || features.length === 0 || features.length > 64)
    throw new AndroidPayloadError('features', 'features must be a list of 1 to 64 features');
  return features.map(policyFeature);
};

export interface AndroidOperationSpec {
  type: AndroidOperationType;
  name: string;
  validate: Validator;
}

/** Every operation code the Android device type accepts. */
export const androidOperations: Readonly<Record<string, AndroidOperationSpec>> = Object.freeze({
  DEVICE_LOCK: {
    type: 'PROFILE',
    name: 'Lock the device',
    validate: (p) => {
      onlyKeys(p, ['message', 'isHardLockEnabled']);
      return compact({ message: optString(p, 'message', 256), isHardLockEnabled: optBool(p, 'isHardLockEnabled') ?? false });
    },
  },
  DEVICE_UNLOCK: { type: 'COMMAND', name: 'Unlock the device', validate: none },
  DEVICE_LOCATION: { type: 'COMMAND', name: 'Report the location', validate: none },
  DEVICE_RING: { type: 'COMMAND', name: 'Ring the device', validate: none },
  DEVICE_MUTE: { type: 'COMMAND', name: 'Mute the device', validate: none },
  REBOOT: { type: 'COMMAND', name: 'Reboot the device', validate: none },
  DEVICE_INFO: { type: 'COMMAND', name: 'Report device information', validate: none },
  APPLICATION_LIST: { type: 'COMMAND', name: 'Report installed applications', validate: none },
  ENTERPRISE_WIPE: { type: 'COMMAND', name: 'Remove the work data and the agent', validate: none },
  CLEAR_PASSWORD: { type: 'COMMAND', name: 'Clear the screen lock', validate: none },
  LOGCAT: { type: 'COMMAND', name: 'Upload the device log', validate: none },
  MONITOR: { type: 'COMMAND', name: 'Report policy compliance', validate: none },
  DISENROLL: { type: 'COMMAND', name: 'Disenroll', validate: none },
  WIPE_DATA: {
    type: 'PROFILE',
    name: 'Factory reset',
    validate: (p) => {
      onlyKeys(p, ['pin']);
      const pin = optString(p, 'pin', 16);
      if (pin !== undefined && !/^[0-9]{4,16}$/.test(pin)) throw new AndroidPayloadError('pin', 'pin must be 4 to 16 digits');
      return compact({ pin });
    },
  },
  CHANGE_LOCK_CODE: {
    type: 'PROFILE',
    name: 'Set the screen lock code',
    validate: (p) => {
      onlyKeys(p, ['lockCode']);
      return { lockCode: reqString(p, 'lockCode', 64) };
    },
  },
  NOTIFICATION: {
    type: 'PROFILE',
    name: 'Show a notification',
    validate: (p) => {
      onlyKeys(p, ['messageText', 'messageTitle']);
      return compact({ messageText: reqString(p, 'messageText', 2048), messageTitle: optString(p, 'messageTitle', 256) });
    },
  },
  INSTALL_APPLICATION: { type: 'PROFILE', name: 'Install an application', validate: application },
  UPDATE_APPLICATION: { type: 'PROFILE', name: 'Update an application', validate: application },
  UNINSTALL_APPLICATION: {
    type: 'PROFILE',
    name: 'Uninstall an application',
    validate: (p) => {
      onlyKeys(p, ['appIdentifier', 'type']);
      return compact({ appIdentifier: reqString(p, 'appIdentifier', 256), type: optString(p, 'type', 16) });
    },
  },
  BLACKLIST_APPLICATIONS: {
    type: 'PROFILE',
    name: 'Block applications',
    validate: (p) => {
      onlyKeys(p, ['appIdentifiers']);
      const ids = p['appIdentifiers'];
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > 256 || !ids.every((s) => typeof s === 'string' && s.length <= 256))
        throw new AndroidPayloadError('appIdentifiers', 'appIdentifiers must be a list of 1 to 256 package names');
      return { appIdentifiers: ids as string[] };
    },
  },
  UPGRADE_FIRMWARE: {
    type: 'PROFILE',
    name: 'Upgrade the firmware',
    validate: (p) => {
      onlyKeys(p, ['server', 'schedule']);
      return compact({ server: optHttpsUrl(p, 'server'), schedule: optString(p, 'schedule', 64) });
    },
  },
  ENCRYPT_STORAGE: {
    type: 'PROFILE',
    name: 'Encrypt the storage',
    validate: (p) => {
      onlyKeys(p, ['encrypted']);
      return { encrypted: optBool(p, 'encrypted') ?? true };
    },
  },
  CAMERA: {
    type: 'PROFILE',
    name: 'Allow or block the camera',
    validate: (p) => {
      onlyKeys(p, ['enabled']);
      const enabled = optBool(p, 'enabled');
      if (enabled === undefined) throw new AndroidPayloadError('enabled', 'enabled is required');
      return { enabled };
    },
  },
  PASSCODE_POLICY: { type: 'PROFILE', name: 'Screen lock rules', validate: settings },
  WIFI: { type: 'PROFILE', name: 'Configure Wi-Fi', validate: settings },
  VPN: { type: 'PROFILE', name: 'Configure a VPN', validate: settings },
  WEBCLIP: {
    type: 'PROFILE',
    name: 'Add a web clip',
    validate: (p) => {
      onlyKeys(p, ['identity', 'title']);
      const identity = optHttpsUrl(p, 'identity');
      if (identity === undefined) throw new AndroidPayloadError('identity', 'identity (the URL) is required');
      return { identity, title: reqString(p, 'title', 256) };
    },
  },
  NOTIFIER_FREQUENCY: {
    type: 'PROFILE',
    name: 'Set the polling interval',
    validate: (p) => {
      onlyKeys(p, ['notifierFrequency']);
      const f = p['notifierFrequency'];
      if (typeof f !== 'number' || !Number.isInteger(f) || f < 60_000 || f > 86_400_000)
        throw new AndroidPayloadError('notifierFrequency', 'notifierFrequency: milliseconds from 60000 to 86400000');
      return { notifierFrequency: f };
    },
  },
  POLICY_BUNDLE: { type: 'POLICY', name: 'Apply a policy', validate: policyBundle },
  POLICY_REVOKE: {
    type: 'POLICY',
    name: 'Revoke a policy',
    validate: (p) => {
      onlyKeys(p, ['policyId']);
      const { policyId } = p;
      if (typeof policyId !== 'string' && typeof policyId !== 'number') throw new AndroidPayloadError('policyId', 'policyId is required');
      return { policyId };
    },
  },
});

export const androidOperationCodes = Object.freeze(Object.keys(androidOperations));

/** The Operation JSON the agent receives in the pending-operations answer (Entgra agent bean). */
export interface AndroidWireOperation {
  /** Our operation id: a decimal string (too large for the agent's int; the agent echoes it back). */
  id: string;
  code: string;
  type: AndroidOperationType;
  status: 'PENDING';
  enabled: boolean;
  createdTimeStamp: string;
  payLoad: unknown;
}

/** Validates an operation's payload for its code; throws AndroidPayloadError. */
export function validateOperation(code: string, payload: Payload): { spec: AndroidOperationSpec; payLoad: unknown } {
  const spec = androidOperations[code];
  if (!spec) throw new AndroidPayloadError('code', `${code} is not an Android operation`);
  return { spec, payLoad: spec.validate(payload) };
}

export function renderOperation(id: string, code: string, payload: Payload, createdAt: number): AndroidWireOperation {
  const { spec, payLoad } = validateOperation(code, payload);
  return {
    id,
    code,
    type: spec.type,
    status: 'PENDING',
    enabled: spec.type !== 'COMMAND',
    createdTimeStamp: new Date(createdAt).toISOString(),
    payLoad,
  };
}
