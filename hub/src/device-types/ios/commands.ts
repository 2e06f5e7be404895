import type plist from 'plist';
import { buildPlist, type PlistDict } from './plist-codec.js';

/**
 * Apple MDM commands rendered as property lists (docs/DEVICE-MANAGEMENT.md, "Apple: commands").
 * Each renderer validates the operation's parameters and returns the `Command` dictionary; the
 * envelope `{CommandUUID, Command}` is added by renderCommand. Built with the plist library, never
 * with string templates, so any text an administrator types is escaped.
 */

export class CommandParamsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'CommandParamsError';
  }
}

/** What a renderer may need from the enrollment beyond the operation's own parameters. */
export interface RenderContext {
  /** From TokenUpdate; ClearPasscode cannot be sent without it. */
  unlockToken?: Buffer;
}

type Params = Record<string, unknown>;
type Renderer = (params: Params, ctx: RenderContext) => PlistDict;

function optString(params: Params, key: string, max = 1024): string | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > max) throw new CommandParamsError(key, `${key} must be a string of at most ${max} characters`);
  return v;
}

function reqString(params: Params, key: string, max = 1024): string {
  const v = optString(params, key, max);
  if (v === undefined || v === '') throw new CommandParamsError(key, `${key} is required`);
  return v;
}

function optBool(params: Params, key: string): boolean | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new CommandParamsError(key, `${key} must be a boolean`);
  return v;
}

function optInt(params: Params, key: string): number | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new CommandParamsError(key, `${key} must be a non-negative integer`);
  return v;
}

function optStringArray(params: Params, key: string): string[] | undefined {
  const v = params[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 256 || !v.every((s) => typeof s === 'string' && s.length <= 256)) {
    throw new CommandParamsError(key, `${key} must be an array of strings`);
  }
  return v as string[];
}

/** Base64 text or a Buffer, as a plist <data>. */
function reqData(params: Params, key: string): Buffer {
  const v = params[key];
  if (Buffer.isBuffer(v) && v.length > 0) return v;
  if (typeof v === 'string' && v.length > 0 && /^[A-Za-z0-9+/=\s]+$/.test(v)) return Buffer.from(v, 'base64');
  throw new CommandParamsError(key, `${key} must be base64 data`);
}

/** Drops keys whose value is undefined: a plist has no "absent" value. */
function compact(dict: Record<string, plist.PlistValue | undefined>): PlistDict {
  const out: Record<string, plist.PlistValue> = {};
  for (const [k, v] of Object.entries(dict)) if (v !== undefined) out[k] = v;
  return out;
}

/** The queries sent when DeviceInformation is issued without its own list. */
export const defaultDeviceQueries = [
  'UDID',
  'DeviceName',
  'OSVersion',
  'BuildVersion',
  'ModelName',
  'Model',
  'ProductName',
  'SerialNumber',
  'DeviceCapacity',
  'AvailableDeviceCapacity',
  'BatteryLevel',
  'WiFiMAC',
  'IsSupervised',
];

const renderers: Record<string, Renderer> = {
  DeviceLock: (p) =>
    compact({
      RequestType: 'DeviceLock',
      Message: optString(p, 'Message', 256),
      PhoneNumber: optString(p, 'PhoneNumber', 64),
      PIN: optString(p, 'PIN', 6),
    }),
  EraseDevice: (p) =>
    compact({
      RequestType: 'EraseDevice',
      PIN: optString(p, 'PIN', 6),
      PreserveDataPlan: optBool(p, 'PreserveDataPlan'),
      DisallowProximitySetup: optBool(p, 'DisallowProximitySetup'),
    }),
  DeviceInformation: (p) => ({ RequestType: 'DeviceInformation', Queries: optStringArray(p, 'Queries') ?? defaultDeviceQueries }),
  SecurityInfo: () => ({ RequestType: 'SecurityInfo' }),
  ProfileList: (p) => compact({ RequestType: 'ProfileList', ManagedOnly: optBool(p, 'ManagedOnly') }),
  InstallProfile: (p) => ({ RequestType: 'InstallProfile', Payload: reqData(p, 'Payload') }),
  RemoveProfile: (p) => ({ RequestType: 'RemoveProfile', Identifier: reqString(p, 'Identifier', 256) }),
  InstalledApplicationList: (p) =>
    compact({
      RequestType: 'InstalledApplicationList',
      Identifiers: optStringArray(p, 'Identifiers'),
      ManagedAppsOnly: optBool(p, 'ManagedAppsOnly'),
    }),
  InstallApplication: (p) => {
    const store = optInt(p, 'iTunesStoreID');
    const id = optString(p, 'Identifier', 256);
    const manifest = optString(p, 'ManifestURL', 2048);
    if ([store, id, manifest].filter((v) => v !== undefined).length !== 1) {
      throw new CommandParamsError('ManifestURL', 'exactly one of iTunesStoreID, Identifier, ManifestURL is required');
    }
    if (manifest !== undefined && !manifest.startsWith('https://'))
      throw new CommandParamsError('ManifestURL', 'ManifestURL must be https');
    return compact({
      RequestType: 'InstallApplication',
      iTunesStoreID: store,
      Identifier: id,
      ManifestURL: manifest,
      ManagementFlags: optInt(p, 'ManagementFlags'),
    });
  },
  RemoveApplication: (p) => ({ RequestType: 'RemoveApplication', Identifier: reqString(p, 'Identifier', 256) }),
  RestartDevice: () => ({ RequestType: 'RestartDevice' }),
  ClearPasscode: (_p, ctx) => {
    if (!ctx.unlockToken) throw new CommandParamsError('UnlockToken', 'the device sent no UnlockToken: ClearPasscode is not possible');
    return { RequestType: 'ClearPasscode', UnlockToken: ctx.unlockToken };
  },
  EnableLostMode: (p) => {
    const out = compact({
      RequestType: 'EnableLostMode',
      Message: optString(p, 'Message', 256),
      PhoneNumber: optString(p, 'PhoneNumber', 64),
      Footnote: optString(p, 'Footnote', 256),
    });
    if (out.Message === undefined && out.PhoneNumber === undefined)
      throw new CommandParamsError('Message', 'Message or PhoneNumber is required');
    return out;
  },
  DisableLostMode: () => ({ RequestType: 'DisableLostMode' }),
};

export const appleRequestTypes = Object.freeze(Object.keys(renderers));

/** Generic (Entgra-style) operation codes and the Apple request each becomes. */
export const operationToRequestType: Readonly<Record<string, string>> = Object.freeze({
  DEVICE_LOCK: 'DeviceLock',
  WIPE_DATA: 'EraseDevice',
  DEVICE_INFO: 'DeviceInformation',
  SECURITY_INFO: 'SecurityInfo',
  PROFILE_LIST: 'ProfileList',
  INSTALL_PROFILE: 'InstallProfile',
  REMOVE_PROFILE: 'RemoveProfile',
  APPLICATION_LIST: 'InstalledApplicationList',
  INSTALL_APPLICATION: 'InstallApplication',
  UNINSTALL_APPLICATION: 'RemoveApplication',
  DEVICE_REBOOT: 'RestartDevice',
  CLEAR_PASSCODE: 'ClearPasscode',
  ENABLE_LOST_MODE: 'EnableLostMode',
  DISABLE_LOST_MODE: 'DisableLostMode',
});

/** Accepts either a generic operation code or an Apple RequestType; undefined when neither. */
export function requestTypeFor(code: string): string | undefined {
  if (code in renderers) return code;
  return operationToRequestType[code];
}

/** The full command plist a device receives in answer to Idle or to its previous result. */
export function renderCommand(
  commandUuid: string,
  code: string,
  params: Params,
  ctx: RenderContext = {},
): { requestType: string; plist: string } {
  const requestType = requestTypeFor(code);
  const render = requestType ? renderers[requestType] : undefined;
  if (!requestType || !render) throw new CommandParamsError('code', `${code} is not an iOS command`);
  return { requestType, plist: buildPlist({ CommandUUID: commandUuid, Command: render(params, ctx) }) };
}
