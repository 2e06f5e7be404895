/**
 * `thing.measurepoint.post|resume` and their `/batch` forms (docs/ENOS-PROTOCOL.md §4.1, §5.4).
 * Resume is offline/historical data: the same checks, ingested with `resume: true`.
 */
import { EnosError, codes } from '@edgehub/shared';
import type { DeviceIdentity, DeviceSession } from '../sessions/sessions.js';
import { deviceKeyOf } from '../sessions/sessions.js';
import type { MeasurepointSample } from '../telemetry/ingest.js';
import type { RouterDeps, UpstreamHandler, UpstreamRequest } from './context.js';
import {
  ModelCache,
  checkMeasurepoints,
  modelError,
  optionalFlag,
  optionalTime,
  requireArray,
  requireObject,
  shapeError,
} from './model-check.js';

/** Entries per batch. EnOS documents no cap for data batches; this is its per-request cap for registrations (§8). */
export const MAX_BATCH_ENTRIES = 1000;

/** One batch entry some of whose readings were dropped under skipInvalidMeasurepoints. */
interface SkippedEntry {
  index: number;
  productKey: string;
  deviceKey: string;
  time: number;
  measurepoints: string[];
  reasons: string[];
}

interface Accepted {
  device: DeviceIdentity;
  points: Record<string, MeasurepointSample>;
  time: number;
  /** No time in the request: `time` is the hub's clock (docs/PROTOCOL.md §5.5, "Telemetry: timestamps"). */
  hubTime: boolean;
}

const EMPTY = Object.freeze({ data: Object.freeze({}) });

function hasAny(points: Record<string, MeasurepointSample>): boolean {
  for (const id in points) if (Object.hasOwn(points, id)) return true;
  return false;
}

const single =
  (resume: boolean): UpstreamHandler =>
  async (req, deps) => {
    const params = requireObject(req.request.params, 'params');
    const raw = requireObject(params['measurepoints'], 'params.measurepoints');
    const time = optionalTime(params['time'], 'params.time', deps.clock);
    const model = await new ModelCache(deps.registry).of(req.target);
    const points = checkMeasurepoints(model, raw, 'params.measurepoints', { skipInvalid: false });
    // One device, one entry: straight to the store (the batch grouping below is for many).
    if (hasAny(points)) await deps.ingest.measurepoints(req.target, points, time, { resume, hubTime: params['time'] === undefined });
    return EMPTY;
  };

const batch =
  (resume: boolean): UpstreamHandler =>
  async (req, deps) => {
    // A non-array is a payload that cannot be read as a batch at all (1220), not a model mismatch.
    const entries = requireArray(req.request.params, 'params');
    if (entries.length > MAX_BATCH_ENTRIES)
      throw modelError(`params holds ${entries.length} entries, at most ${MAX_BATCH_ENTRIES} are allowed`);
    const allowOffline = optionalFlag(req.request['allowOfflineSubDevice'], 'allowOfflineSubDevice');
    const skipInvalid = optionalFlag(req.request['skipInvalidMeasurepoints'], 'skipInvalidMeasurepoints');
    const models = new ModelCache(deps.registry);
    const devices = new BatchDevices(req, deps, allowOffline);

    // All or nothing (§4.1): every entry is checked before any is ingested; the first error wins.
    // With skipInvalidMeasurepoints the readings the model refuses are dropped, and the reply
    // lists them (docs/PROTOCOL.md, "skipInvalidMeasurepoints"), so the sender can keep them aside.
    const accepted: Accepted[] = [];
    const skippedEntries: SkippedEntry[] = [];
    for (const [i, entry] of entries.entries()) {
      const field = `params[${i}]`;
      const e = requireObject(entry, field);
      const raw = requireObject(e['measurepoints'], `${field}.measurepoints`);
      const time = optionalTime(e['time'], `${field}.time`, deps.clock);
      const device = await devices.resolve(e, field);
      const model = await models.of(device);
      const skipped: { id: string; reason: string }[] = [];
      const points = checkMeasurepoints(model, raw, `${field}.measurepoints`, { skipInvalid, skipped });
      accepted.push({ device, points, time, hubTime: e['time'] === undefined });
      if (skipped.length > 0)
        skippedEntries.push({
          index: i,
          productKey: device.productKey,
          deviceKey: device.deviceKey,
          time,
          measurepoints: skipped.map((s) => s.id),
          reasons: skipped.map((s) => s.reason),
        });
    }
    await ingest(deps, accepted, resume);
    return { data: skippedEntries.length > 0 ? { skipped: skippedEntries } : {} };
  };

async function ingest(deps: RouterDeps, accepted: Accepted[], resume: boolean): Promise<void> {
  // One write for the whole request where the sink offers it (docs/PERFORMANCE-NOTES.md, "Telemetry store").
  if (deps.ingest.measurepointBatch) return deps.ingest.measurepointBatch(accepted, { resume });
  // In order per device, devices side by side: their writes share the store's commits instead of
  // waiting for one fsync each (a gateway's batch carries many sub-devices).
  const byDevice = new Map<string, Accepted[]>();
  for (const a of accepted) {
    if (Object.keys(a.points).length === 0) continue;
    const list = byDevice.get(a.device.assetId) ?? [];
    list.push(a);
    byDevice.set(a.device.assetId, list);
  }
  await Promise.all(
    [...byDevice.values()].map(async (list) => {
      for (const { device, points, time, hubTime } of list) await deps.ingest.measurepoints(device, points, time, { resume, hubTime });
    }),
  );
}

/**
 * Who a batch entry is about. No keys: the topic's device. Keys: the session's own device, a
 * sub-device logged in through this session, or — with `allowOfflineSubDevice` — a sub-device
 * of this gateway's topology that is not logged in (§5.4). Anything else refuses the whole
 * request with 1212.
 */
class BatchDevices {
  private readonly offline = new Map<string, Promise<DeviceIdentity | undefined>>();
  private readonly session: DeviceSession;

  constructor(
    private readonly req: UpstreamRequest,
    private readonly deps: RouterDeps,
    private readonly allowOffline: boolean,
  ) {
    this.session = req.session;
  }

  async resolve(entry: Record<string, unknown>, field: string): Promise<DeviceIdentity> {
    const pk = entry['productKey'];
    const dk = entry['deviceKey'];
    if (pk === undefined && dk === undefined) return this.req.target;
    if (typeof pk !== 'string' || pk === '') throw shapeError(`${field}.productKey`, 'must be a non-empty string beside deviceKey');
    if (typeof dk !== 'string' || dk === '') throw shapeError(`${field}.deviceKey`, 'must be a non-empty string beside productKey');

    for (const own of [this.req.target, this.session.device]) {
      if (own.productKey === pk && own.deviceKey === dk) return own;
    }
    const key = deviceKeyOf(pk, dk);
    const online = this.session.subDevices.get(key);
    if (online) return online;
    if (this.allowOffline) {
      let found = this.offline.get(key);
      if (!found) {
        found = this.topologySub(pk, dk);
        this.offline.set(key, found);
      }
      const sub = await found;
      if (sub) return sub;
      throw new EnosError(
        codes.noSubDevicePermission,
        `No sub-device permission: ${field} ${pk}&${dk} is not a sub-device of this gateway`,
      );
    }
    throw new EnosError(
      codes.noSubDevicePermission,
      `No sub-device permission: ${field} ${pk}&${dk} is not logged in through this gateway`,
    );
  }

  private async topologySub(pk: string, dk: string): Promise<DeviceIdentity | undefined> {
    const gw = this.session.device;
    const d = await this.deps.registry.devices.byTriple(pk, dk);
    // A disabled device sends nothing, not even through its gateway.
    if (!d || d.orgId !== gw.orgId || d.gatewayAssetId !== gw.assetId || d.status === 'disabled') return undefined;
    return { assetId: d.assetId, orgId: d.orgId, productKey: d.productKey, deviceKey: d.deviceKey, productType: d.productType };
  }
}

export const measurepointPost: UpstreamHandler = single(false);
export const measurepointResume: UpstreamHandler = single(true);
export const measurepointPostBatch: UpstreamHandler = batch(false);
export const measurepointResumeBatch: UpstreamHandler = batch(true);
