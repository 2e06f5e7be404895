import { EnosError, codes, keySchema, timezoneSchema } from '@edgehub/shared';
import type { CreatedDevice, NewDevice } from '../registry/devices.js';
import type { StringI18n } from '../registry/records.js';
import type { UpstreamHandler } from './context.js';
import { nonEmptyArrayOf, objectOf, optionalString, requireGateway, requiredString, type Fail, type Fields } from './gateway-params.js';

/**
 * `thing.device.register` (docs/ENOS-PROTOCOL.md §4.4): a gateway creates devices in its own
 * organization and learns their secrets. The devices are not added to its topology: the gateway
 * follows with a signed `thing.topo.add` (§5.5).
 */

const DEFAULT_TIMEZONE = '+08:00';
// Same limits as the REST device create (api/schemas.ts), so both doors accept the same devices.
const KEY = new RegExp(keySchema.pattern);
const TIMEZONE = new RegExp(timezoneSchema.pattern);
const MAX_KEY = keySchema.maxLength;
const MAX_NAME = 256;
const MAX_I18N = 32;
const MAX_DESC = 1024;
const MAX_ATTRIBUTES = 500;

const malformed: Fail = (message) => new EnosError(codes.payloadFormatError, `Payload format error: ${message}`);

/** Each entry is created on its own (as `devices.batchCreate`): one refused entry does not stop the rest. */
export const deviceRegister: UpstreamHandler = async (req, deps) => {
  requireGateway(req);
  const gw = req.session.device;
  const params = nonEmptyArrayOf(req.request.params, 'params', malformed);
  if (params.length > deps.limits.maxRegisterBatch)
    throw malformed(`at most ${deps.limits.maxRegisterBatch} devices per request, got ${params.length}`);
  // A malformed entry refuses the whole request before anything is created.
  const inputs = params.map((raw, i) => newDevice(raw, `params[${i}]`));

  // One insertMany for up to maxRegisterBatch entries, with the per-entry outcome of `create`.
  const results = await deps.registry.devices.batchCreate(gw.orgId, inputs, `gateway:${gw.assetId}`, deps.clock());
  const created: CreatedDevice[] = [];
  const failures: string[] = [];
  let code: number = codes.mqttSuccess;
  for (const [i, r] of results.entries()) {
    if (r.code === 0 && r.data) {
      created.push(r.data);
      continue;
    }
    if (code === codes.mqttSuccess) code = registerCode(r.code);
    const input = inputs[i]!;
    failures.push(`params[${i}] ${input.productKey}&${input.deviceKey ?? '(generated)'}: ${r.msg}`);
  }
  if (failures.length === 0) return { data: created };
  const more = failures.length > 1 ? ` (and ${failures.length - 1} more of ${inputs.length} entries failed)` : '';
  return { code, message: `${failures[0]}${more}`, data: created };
};

/**
 * Registry codes to the ones documented for this topic (§4.4: 702, 714, 739). Attributes that do
 * not fit the thing model answer 1204 "model validation failed", as the data topics do. A product
 * missing from the gateway's organization keeps 11611 "Product not found": no MQTT code describes
 * it and 11611 is the documented EnOS code for exactly that.
 */
export function registerCode(registryCode: number): number {
  switch (registryCode) {
    case codes.deviceKeyExists:
      return codes.registerDeviceKeyExists;
    case codes.deviceKeyGenerationFailed:
      return codes.registerKeyGenerationFailed;
    case codes.deviceLimitExceeded:
      return codes.registerLimitExceeded;
    case codes.invalidArgument:
      return codes.modelValidationFailed;
    default:
      return registryCode;
  }
}

function newDevice(raw: unknown, what: string): NewDevice {
  const o = objectOf(raw, what, malformed);
  const productKey = requiredString(o, 'productKey', what, malformed);
  if (!KEY.test(productKey) || productKey.length > MAX_KEY) throw malformed(`${what}.productKey is not a valid product key`);
  const device: NewDevice = { productKey, deviceName: deviceNameOf(o, what), timezone: DEFAULT_TIMEZONE };

  const deviceKey = optionalString(o, 'deviceKey', what, malformed);
  if (deviceKey !== undefined) {
    if (!KEY.test(deviceKey) || deviceKey.length > MAX_KEY)
      throw malformed(`${what}.deviceKey must be 1-${MAX_KEY} characters of A-Z a-z 0-9 _ - .`);
    device.deviceKey = deviceKey;
  }
  const desc = optionalString(o, 'deviceDesc', what, malformed);
  if (desc !== undefined) {
    if (desc.length > MAX_DESC) throw malformed(`${what}.deviceDesc is longer than ${MAX_DESC} characters`);
    device.deviceDesc = desc;
  }
  const timezone = optionalString(o, 'timezone', what, malformed);
  if (timezone !== undefined) {
    if (!TIMEZONE.test(timezone) || timezone.length > timezoneSchema.maxLength)
      throw malformed(`${what}.timezone must be like "+08:00" or "Asia/Shanghai"`);
    device.timezone = timezone;
  }
  const attrs = o['deviceAttributes'];
  if (attrs !== undefined) {
    const a = objectOf(attrs, `${what}.deviceAttributes`, malformed);
    if (Object.keys(a).length > MAX_ATTRIBUTES) throw malformed(`${what}.deviceAttributes has more than ${MAX_ATTRIBUTES} attributes`);
    device.deviceAttributes = { ...a };
  }
  return device;
}

/**
 * New SDKs send a StringI18n, old docs a plain string (§4.4). Required although the doc marks it
 * optional: every device has a name, and the Java SDK always sets one through its builders.
 */
function deviceNameOf(o: Fields, what: string): StringI18n {
  const v = o['deviceName'];
  if (typeof v === 'string') return { defaultValue: nameText(v, `${what}.deviceName`) };
  const name = objectOf(v, `${what}.deviceName`, (m) => malformed(`${m} or a string`));
  const out: StringI18n = { defaultValue: nameText(name['defaultValue'], `${what}.deviceName.defaultValue`) };
  const i18n = name['i18nValue'];
  if (i18n !== undefined) {
    const map = objectOf(i18n, `${what}.deviceName.i18nValue`, malformed);
    const entries = Object.entries(map);
    if (entries.length > MAX_I18N) throw malformed(`${what}.deviceName.i18nValue has more than ${MAX_I18N} languages`);
    for (const [lang, text] of entries) {
      if (typeof text !== 'string' || text.length > MAX_NAME)
        throw malformed(`${what}.deviceName.i18nValue.${lang} must be a string of at most ${MAX_NAME} characters`);
    }
    // fromEntries defines own properties: a `__proto__` language stays plain data.
    out.i18nValue = Object.fromEntries(entries) as Record<string, string>;
  }
  return out;
}

function nameText(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '' || v.length > MAX_NAME) throw malformed(`${what} must be a string of 1-${MAX_NAME} characters`);
  return v;
}
