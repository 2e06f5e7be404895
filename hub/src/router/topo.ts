import { EnosError, codes } from '@edgehub/shared';
import type { DeviceRef } from '../registry/devices.js';
import type { DeviceRecord } from '../registry/records.js';
import type { UpstreamHandler } from './context.js';
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
  type SubDeviceSign,
} from './gateway-params.js';

/**
 * Gateway topology over MQTT (docs/ENOS-PROTOCOL.md §5.1): `thing.topo.add` (the gateway proves it knows
 * each sub-device's secret), `thing.topo.delete`, `thing.topo.get`.
 */

// EnOS documents one code per topic for every refusal, malformed params included (1255 / 1256).
const addFailed: Fail = (reason) => new EnosError(codes.topoAddFailed, `add topo failure, ${reason}`);
const deleteFailed: Fail = (reason) => new EnosError(codes.topoDeleteFailed, `delete topo failure, ${reason}`);

const TOPO_PAGE = 200;

/** All or nothing: every entry is checked before anything is bound. */
export const topoAdd: UpstreamHandler = async (req, deps) => {
  requireGateway(req, addFailed);
  const gw = req.session.device;
  const entries = nonEmptyArrayOf(req.request.params, 'params', addFailed).map((raw, i) => signedEntry(raw, `params[${i}]`));

  const refs: DeviceRef[] = [];
  for (const e of entries) {
    const refuse = (reason: string) => addFailed(`${e.productKey}&${e.deviceKey}: ${reason}`);
    const sub = await deps.registry.devices.byTriple(e.productKey, e.deviceKey);
    if (!sub || sub.orgId !== gw.orgId) throw refuse('sub-device does not exist');
    if (sub.productType === 'Gateway') throw refuse('sub-device is a gateway');
    if (sub.gatewayAssetId !== undefined && sub.gatewayAssetId !== gw.assetId) throw refuse('sub-device belongs to another gateway');
    // A disabled sub-device may join the topology (as over REST); it is refused at combine.login (723).
    const problem = subDeviceSignProblem(e, sub.deviceSecret);
    if (problem) throw refuse(problem);
    refs.push({ assetId: sub.assetId });
  }

  try {
    // Enforces the gateway's sub-device limit and releases partial binds on a concurrent change.
    await deps.registry.topology.addSubDevices(gw.orgId, { assetId: gw.assetId }, refs);
  } catch (e) {
    if (e instanceof EnosError) throw addFailed(e.message);
    throw e;
  }
  return { data: {} };
};

export const topoDelete: UpstreamHandler = async (req, deps) => {
  requireGateway(req, deleteFailed);
  const gw = req.session.device;
  const entries = nonEmptyArrayOf(req.request.params, 'params', deleteFailed).map((raw, i) => {
    const what = `params[${i}]`;
    const o = objectOf(raw, what, deleteFailed);
    return {
      productKey: requiredString(o, 'productKey', what, deleteFailed),
      deviceKey: requiredString(o, 'deviceKey', what, deleteFailed),
    };
  });

  const refs: DeviceRef[] = [];
  for (const e of entries) {
    const refuse = (reason: string) => deleteFailed(`${e.productKey}&${e.deviceKey}: ${reason}`);
    const sub = await deps.registry.devices.byTriple(e.productKey, e.deviceKey);
    if (!sub || sub.orgId !== gw.orgId) throw refuse('sub-device does not exist');
    if (sub.gatewayAssetId !== gw.assetId) throw refuse('not a sub-device of this gateway');
    // EnOS refuses deleting an online sub-device (§5.1). Online = logged in through any session of
    // this process (stricter than "through this session"; the session registry is authoritative,
    // the stored status may be stale after a crash).
    if (deps.sessions.gatewayOf(e.productKey, e.deviceKey)) throw refuse('sub-device is online, log it out first');
    refs.push({ assetId: sub.assetId });
  }

  try {
    await deps.registry.topology.removeSubDevices(gw.orgId, { assetId: gw.assetId }, refs);
  } catch (e) {
    if (e instanceof EnosError) throw deleteFailed(e.message);
    throw e;
  }
  return { data: {} };
};

/** Params are `{}` and carry nothing to read: they are ignored. */
export const topoGet: UpstreamHandler = async (req, deps) => {
  requireGateway(req);
  const gw = req.session.device;
  const subs: DeviceRecord[] = [];
  const sort = [
    { field: 'createTime', order: 'ASC' as const },
    { field: 'assetId', order: 'ASC' as const },
  ];
  for (let offset = 0; ; offset += TOPO_PAGE) {
    const page = await deps.registry.topology.searchSubDevices(gw.orgId, { assetId: gw.assetId }, { sort, offset, limit: TOPO_PAGE });
    subs.push(...page.items);
    if (page.items.length < TOPO_PAGE || subs.length >= page.total) break;
  }
  return { data: subs.map(topoEntry) };
};

/**
 * One sub-device as `thing.topo.get` lists it: EnOS documents productKey + deviceKey, the Node SDK
 * types more (§5.1). No deviceSecret (a gateway learns secrets only by registering devices) and no
 * deviceAttributes (unbounded: 1,500 sub-devices must fit the 512 KB reply).
 */
function topoEntry(d: DeviceRecord) {
  const entry: Record<string, unknown> = {
    productKey: d.productKey,
    deviceKey: d.deviceKey,
    assetId: d.assetId,
    deviceName: d.deviceName,
    timezone: d.timezone,
    status: d.status,
    gmtCreate: d.createTime,
  };
  if (d.activeTime !== undefined) entry['gmtActive'] = d.activeTime;
  if (d.lastOnlineTime !== undefined) entry['gmtOnline'] = d.lastOnlineTime;
  if (d.lastOfflineTime !== undefined) entry['gmtOffline'] = d.lastOfflineTime;
  return entry;
}

function signedEntry(raw: unknown, what: string): SubDeviceSign {
  const o = objectOf(raw, what, addFailed);
  return {
    productKey: requiredString(o, 'productKey', what, addFailed),
    deviceKey: requiredString(o, 'deviceKey', what, addFailed),
    clientId: requiredString(o, 'clientId', what, addFailed),
    timestamp: timestampOf(o, 'timestamp', what, addFailed),
    sign: requiredString(o, 'sign', what, addFailed),
    signMethod: signMethodOf(o, what, addFailed),
    cleanSession: cleanSessionOf(o, what, addFailed),
  };
}
