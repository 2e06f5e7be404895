import { EnosError, codes } from '@edgehub/shared';
import { deviceKeyOf, type DeviceIdentity } from '../sessions/sessions.js';
import type { RouterDeps, UpstreamHandler, UpstreamRequest } from './context.js';
import {
  cleanSessionOf,
  nonEmptyArrayOf,
  objectOf,
  requireGateway,
  requiredString,
  signMethodOf,
  subDeviceSignProblem,
  timestampOf,
  type Fail,
  type Fields,
  type SubDeviceSign,
  SIGN_MISMATCH,
} from './gateway-params.js';

/**
 * Sub-device sessions through a gateway (docs/ENOS-PROTOCOL.md §5.2, §5.3): `combine.login`,
 * `combine.login.batch`, `combine.logout`. The broker's lifecycle does the session bookkeeping and
 * the online/offline status; these handlers decide who may log in.
 */

/**
 * EnOS documents the 200 online sub-devices cap but no code for it (§5); 428 "too many online
 * sub-devices" is Alibaba's code for the same refusal (§5.2).
 */
export const TOO_MANY_ONLINE_SUB_DEVICES = 428;

// The batch answers 1220 to a format error (§5.3); single login and logout do the same.
const malformed: Fail = (message) => new EnosError(codes.payloadFormatError, `Payload format error: ${message}`);

interface LoginAttempt extends SubDeviceSign {
  /** securemode 2 signs with the deviceSecret, 3 (dynamic activation) with the productSecret (§5.2). */
  secureMode: '2' | '3';
}

export interface LoggedIn {
  assetId: string;
  productKey: string;
  deviceKey: string;
  /** Only when this login activated the sub-device (secureMode 3). */
  deviceSecret?: string;
}

export const combineLogin: UpstreamHandler = async (req, deps) => {
  requireGateway(req);
  const params = objectOf(req.request.params, 'params', malformed);
  const attempt: LoginAttempt = {
    ...subDeviceFields(params, 'params'),
    clientId: requiredString(params, 'clientId', 'params', malformed),
    timestamp: timestampOf(params, 'timestamp', 'params', malformed),
    signMethod: signMethodOf(params, 'params', malformed),
  };
  const done = await loginSubDevice(req, deps, attempt);
  return { data: { productKey: done.productKey, deviceKey: done.deviceKey, assetId: done.assetId, ...secretOf(done) } };
};

/**
 * One shared clientId, timestamp and signMethod, one sign per sub-device (§5.3). Entries are
 * logged in in order, each on its own; the reply lists both outcomes. A format error refuses the
 * whole request with both lists empty, so the result is returned rather than thrown.
 */
export const combineLoginBatch: UpstreamHandler = async (req, deps) => {
  requireGateway(req);
  let attempts: LoginAttempt[];
  try {
    const params = objectOf(req.request.params, 'params', malformed);
    const clientId = requiredString(params, 'clientId', 'params', malformed);
    const timestamp = timestampOf(params, 'timestamp', 'params', malformed);
    const signMethod = signMethodOf(params, 'params', malformed);
    attempts = nonEmptyArrayOf(params['subDevices'], 'params.subDevices', malformed).map((raw, i) => {
      const what = `params.subDevices[${i}]`;
      return { ...subDeviceFields(objectOf(raw, what, malformed), what), clientId, timestamp, signMethod };
    });
  } catch (e) {
    if (!(e instanceof EnosError)) throw e;
    return { code: e.code, message: e.message, data: { loginedSubDevices: [], failedSubDevices: [] } };
  }

  const logined: LoggedIn[] = [];
  const failed: { productKey: string; deviceKey: string }[] = [];
  let code: number = codes.mqttSuccess;
  let message = '';
  for (const a of attempts) {
    try {
      const done = await loginSubDevice(req, deps, a);
      logined.push({ assetId: done.assetId, productKey: done.productKey, deviceKey: done.deviceKey, ...secretOf(done) });
    } catch (e) {
      if (!(e instanceof EnosError)) throw e;
      if (code === codes.mqttSuccess) code = e.code;
      message += `${a.productKey}&${a.deviceKey} has error: ${e.message};`;
      failed.push({ productKey: a.productKey, deviceKey: a.deviceKey });
    }
  }
  const data = { loginedSubDevices: logined, failedSubDevices: failed };
  return failed.length === 0 ? { data } : { code, message, data };
};

/**
 * Logs out a sub-device logged in through THIS session. Not logged in anywhere: 200, nothing to
 * do (SDKs log out after combine.disable, when the hub already did). Logged in through another
 * session: 1212, a gateway never ends another session's sub-device.
 */
export const combineLogout: UpstreamHandler = async (req, deps) => {
  requireGateway(req);
  const params = objectOf(req.request.params, 'params', malformed);
  const productKey = requiredString(params, 'productKey', 'params', malformed);
  const deviceKey = requiredString(params, 'deviceKey', 'params', malformed);
  const holder = deps.sessions.gatewayOf(productKey, deviceKey);
  if (holder && holder !== req.session) {
    throw new EnosError(codes.noSubDevicePermission, `Sub-device ${productKey}&${deviceKey} is not logged in through this gateway`);
  }
  if (holder) await deps.lifecycle.logout(productKey, deviceKey);
  return { data: { productKey, deviceKey } };
};

/** The checks of §5.2, in the documented order; throws the first refusal's code. */
async function loginSubDevice(req: UpstreamRequest, deps: RouterDeps, a: LoginAttempt): Promise<LoggedIn> {
  const gw = req.session.device;
  const sub = await deps.registry.devices.byTriple(a.productKey, a.deviceKey);
  // Another organization's device is indistinguishable from a missing one.
  if (!sub || sub.orgId !== gw.orgId) throw new EnosError(codes.subDeviceNotExist, 'Device does not exist');
  const product = await deps.registry.products.byKey(sub.productKey);
  if (!product) throw new EnosError(codes.subDeviceNotExist, 'Device does not exist');
  if (sub.status === 'disabled') throw new EnosError(codes.subDeviceDisabled, 'Device is disable');
  // Only the gateway's link carries the certificate (§6): a cert-only product needs an mTLS gateway.
  if (product.biDirectionalAuth && !req.session.mutualTls) throw new EnosError(codes.subDeviceMustUseSsl, 'The device must login by ssl');
  if (a.secureMode === '3') {
    if (!product.dynamicActivateEnabled) throw new EnosError(codes.dynamicActivateNotAllowed, 'Dynamic activate is not allowed');
    // Once activated, a device logs in with its own secret (§2.5 step 4).
    if (sub.activeTime !== undefined)
      throw new EnosError(codes.dynamicActivateNotAllowed, 'Dynamic activate is not allowed: the device is already activated');
  }
  // Dynamic activation does not add to the topology: the productSecret proves the gateway knows
  // the product, not that this device is its own; the relation must exist first (REST addSubDevice).
  if (sub.gatewayAssetId !== gw.assetId) throw new EnosError(codes.subDeviceTopoMissing, 'Sub device not belong the gateway');
  const problem = subDeviceSignProblem(a, a.secureMode === '3' ? product.productSecret : sub.deviceSecret);
  if (problem)
    throw new EnosError(codes.subDeviceSignFailed, problem === SIGN_MISMATCH ? 'Sign check failed' : `Sign check failed: ${problem}`);
  const online = req.session.subDevices;
  if (!online.has(deviceKeyOf(sub.productKey, sub.deviceKey)) && online.size >= deps.limits.maxOnlineSubDevices) {
    throw new EnosError(TOO_MANY_ONLINE_SUB_DEVICES, `too many online sub-devices: at most ${deps.limits.maxOnlineSubDevices} per gateway`);
  }

  const identity: DeviceIdentity = {
    assetId: sub.assetId,
    orgId: sub.orgId,
    productKey: sub.productKey,
    deviceKey: sub.deviceKey,
    productType: sub.productType,
  };
  await deps.lifecycle.login(req.session, identity);
  deps.log.debug({ gateway: gw.assetId, assetId: sub.assetId, secureMode: a.secureMode }, 'sub-device logged in');
  const done: LoggedIn = { assetId: sub.assetId, productKey: sub.productKey, deviceKey: sub.deviceKey };
  if (a.secureMode === '3') done.deviceSecret = sub.deviceSecret;
  return done;
}

/** The per-sub-device fields; clientId, timestamp and signMethod come from the caller. */
function subDeviceFields(o: Fields, what: string) {
  return {
    productKey: requiredString(o, 'productKey', what, malformed),
    deviceKey: requiredString(o, 'deviceKey', what, malformed),
    sign: requiredString(o, 'sign', what, malformed),
    secureMode: secureModeOf(o, what),
    cleanSession: cleanSessionOf(o, what, malformed),
  };
}

/** Java sends "2"/"3", the Node batch the number 2, Node single login and C nothing: 2 (§5.2, §12). */
function secureModeOf(o: Fields, what: string): '2' | '3' {
  const v = o['secureMode'];
  if (v === undefined) return '2';
  const s = typeof v === 'number' || typeof v === 'string' ? String(v).trim() : '';
  if (s === '2' || s === '3') return s;
  throw malformed(`${what}.secureMode must be 2 or 3`);
}

function secretOf(done: LoggedIn): { deviceSecret?: string } {
  return done.deviceSecret === undefined ? {} : { deviceSecret: done.deviceSecret };
}
