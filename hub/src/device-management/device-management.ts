import { EnosError, newCommandId } from '@edgehub/shared';
import type { CommandCore } from '../commands/command-core.js';
import { deviceTypeOf, type CommandRecord } from '../commands/records.js';
import { ENOS_MQTT, type CommandDeviceTypes } from '../commands/device-type-port.js';
import type { Registry } from '../registry/registry.js';
import type { DeviceRecord as IotDeviceRecord } from '../registry/records.js';
import type { Collection, CollectionSpec, Filter } from '../store/port.js';
import type { DeviceDirectory, DeviceListFilter } from './device-directory.js';
import { DeviceMgtError } from './errors.js';
import type { DeviceGroups } from './groups.js';
import type { DmCaller } from './oauth.js';
import type { ActivityRecord, DeviceRecord } from './records.js';

export const activityCollectionSpec: CollectionSpec = { name: 'dmActivities', key: 'activityId', indexes: ['orgId'] };

export interface OperationRequest {
  deviceIdentifiers?: string[];
  groupIds?: string[];
  operation: { code: string; type?: ActivityRecord['type']; payload?: Record<string, unknown> };
  /** How long the operation may wait for the device (default: the device type's). */
  pendingTtlSeconds?: number;
}

/** A device of any type as the management REST shows it (Entgra Device). */
export interface DeviceView {
  id: string;
  type: string;
  name: string;
  description?: string;
  enrolmentInfo: { id: string; ownership: string; status: string; owner: string; dateOfEnrolment: number; dateOfLastUpdate: number };
  properties: { name: string; value: string }[];
  groupIds: string[];
}

const iotStatus: Record<IotDeviceRecord['status'], string> = {
  online: 'ACTIVE',
  offline: 'INACTIVE',
  inactive: 'CREATED',
  disabled: 'BLOCKED',
};

export function viewOfDevice(d: DeviceRecord): DeviceView {
  return {
    id: d.deviceIdentifier,
    type: d.type,
    name: d.name,
    ...(d.description !== undefined ? { description: d.description } : {}),
    enrolmentInfo: {
      id: d.id,
      ownership: d.ownership,
      status: d.status,
      owner: d.owner,
      dateOfEnrolment: d.dateOfEnrolment,
      dateOfLastUpdate: d.dateOfLastUpdate,
    },
    properties: Object.entries(d.properties).map(([name, value]) => ({ name, value })),
    groupIds: d.groupIds,
  };
}

/** An MQTT device of the IoT registry in the same shape: type enos-mqtt, id = its assetId. */
export function viewOfIotDevice(d: IotDeviceRecord): DeviceView {
  return {
    id: d.assetId,
    type: ENOS_MQTT,
    name: d.deviceName.defaultValue,
    ...(d.deviceDesc !== undefined ? { description: d.deviceDesc } : {}),
    enrolmentInfo: {
      id: d.assetId,
      ownership: 'COPE',
      status: iotStatus[d.status],
      owner: d.createBy,
      dateOfEnrolment: d.createTime,
      dateOfLastUpdate: d.updateTime,
    },
    properties: [
      { name: 'productKey', value: d.productKey },
      { name: 'deviceKey', value: d.deviceKey },
    ],
    groupIds: [],
  };
}

/** The device identifier a command's device has in the management REST. */
const identifierOf = (c: CommandRecord) => (deviceTypeOf(c) === ENOS_MQTT ? c.assetId : c.deviceKey);

export function viewOfOperation(c: CommandRecord) {
  const answered =
    c.result ??
    (c.reply ? { outcome: c.reply.code === 200 ? 'acknowledged' : 'error', data: c.reply.data, message: c.reply.message } : undefined);
  return {
    id: c.commandId,
    activityId: c.activityId ?? null,
    code: c.name,
    deviceIdentifier: { id: identifierOf(c), type: deviceTypeOf(c) },
    status: c.operationStatus ?? 'PENDING',
    payload: c.params,
    createdTimeStamp: c.createdAt,
    receivedTimeStamp: c.repliedAt ?? null,
    expireAt: c.expireAt,
    initiatedBy: c.createBy,
    operationResponse: answered ?? null,
    history: c.history,
  };
}

/**
 * The device-management domain (docs/DEVICE-MANAGEMENT.md, "Devices", "Operations and
 * activities"): one listing over every device type (the IoT registry's MQTT devices as type
 * enos-mqtt), operations added to devices or groups as activities, each device's operations.
 * Every call is scoped to the caller's organization; another organization's devices behave as
 * missing ones.
 */
export class DeviceManagement {
  constructor(
    readonly devices: DeviceDirectory,
    private readonly registry: Registry,
    private readonly commands: CommandCore,
    private readonly types: CommandDeviceTypes,
    private readonly activities: Collection<ActivityRecord>,
    readonly groups: DeviceGroups,
  ) {}

  async list(orgId: string, filter: DeviceListFilter, offset: number, limit: number): Promise<{ devices: DeviceView[]; count: number }> {
    const wantsIot =
      (filter.type === undefined || filter.type === ENOS_MQTT) && !filter.ownership && !filter.owner && !filter.groupId && !filter.status;
    const wantsDm = filter.type !== ENOS_MQTT;
    const dm = wantsDm ? await this.devices.list(orgId, filter, offset, limit) : { items: [], total: 0 };
    const views = dm.items.map(viewOfDevice);
    let total = dm.total;
    if (wantsIot) {
      const iotOffset = Math.max(0, offset - dm.total);
      const iot = await this.registry.devices.search(
        orgId,
        {},
        {
          sort: [
            { field: 'createTime', order: 'ASC' },
            { field: 'assetId', order: 'ASC' },
          ],
          offset: iotOffset,
          limit: Math.max(0, limit - views.length),
        },
      );
      views.push(...iot.items.map(viewOfIotDevice));
      total += iot.total;
    }
    return { devices: views, count: total };
  }

  async get(orgId: string, type: string, id: string): Promise<DeviceView> {
    if (type === ENOS_MQTT) return viewOfIotDevice(await this.iotDevice(orgId, id));
    return viewOfDevice(await this.devices.get(orgId, type, id));
  }

  private async iotDevice(orgId: string, assetId: string): Promise<IotDeviceRecord> {
    const d = await this.registry.devices.find({ assetId });
    if (!d || d.orgId !== orgId) throw new DeviceMgtError(404, `device ${ENOS_MQTT}/${assetId} not found`);
    return d;
  }

  /** The command-core target of a device of this organization, or undefined (unknown, another org's, not enrolled). */
  private async target(orgId: string, type: string, id: string) {
    if (type === ENOS_MQTT) {
      const d = await this.registry.devices.find({ assetId: id });
      return d && d.orgId === orgId ? { orgId, assetId: d.assetId, productKey: d.productKey, deviceKey: d.deviceKey } : undefined;
    }
    const d = await this.devices.byIdentifier(type, id);
    return d && d.orgId === orgId && d.status === 'ACTIVE'
      ? { orgId, assetId: d.id, productKey: type, deviceKey: d.deviceIdentifier }
      : undefined;
  }

  /**
   * Adds an operation to devices of one type and/or to the members of groups: one activity with a
   * status per device. Identifiers that are unknown, of another organization or not enrolled show
   * as INVALID; nothing is queued for them.
   *
   * `resume.activityId` is for an internal caller that must be able to finish a dispatch a dead
   * node started (the app store): the activity gets that id, devices that already have an operation
   * of it are not given a second one, and an activity already stored is returned as it is.
   */
  async addOperation(caller: DmCaller, type: string, req: OperationRequest, resume?: { activityId: string }) {
    if (resume && (await this.activities.get(resume.activityId))) return this.activity(caller.orgId, resume.activityId);
    const plugin = this.types.get(type);
    if (!plugin) throw new DeviceMgtError(404, `device type ${type} not found`);
    if (type !== ENOS_MQTT && !plugin.features.some((f) => f.code === req.operation.code)) {
      throw new DeviceMgtError(400, `operation ${req.operation.code} is not a feature of device type ${type}`);
    }
    const ids = new Set(req.deviceIdentifiers ?? []);
    for (const groupId of req.groupIds ?? []) {
      await this.groups.get(caller.orgId, groupId);
      const g = await this.devices.list(caller.orgId, { groupId, type }, 0, 10_000);
      for (const d of g.items) ids.add(d.deviceIdentifier);
    }
    if (ids.size === 0) throw new DeviceMgtError(400, 'no deviceIdentifiers and no group members of this type');
    if (ids.size > 10_000) throw new DeviceMgtError(400, 'at most 10,000 devices per operation');
    const d = plugin.deadlines;
    const ttl = req.pendingTtlSeconds ?? (d.defaultPendingSeconds > 0 ? d.defaultPendingSeconds : Math.min(3600, d.maxPendingSeconds));
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > d.maxPendingSeconds)
      throw new DeviceMgtError(400, `pendingTtlSeconds: from 1 to ${d.maxPendingSeconds}`);
    const activity: ActivityRecord = {
      activityId: resume?.activityId ?? `ACTIVITY_${newCommandId()}`,
      orgId: caller.orgId,
      code: req.operation.code,
      type: req.operation.type ?? 'COMMAND',
      payload: req.operation.payload ?? {},
      initiatedBy: caller.clientId,
      createdAt: Date.now(),
      commandIds: [],
    };
    const invalid: { id: string; reason: string }[] = [];
    const issued = new Set<string>();
    if (resume) {
      const earlier = await this.commands.search(caller.orgId, { activityId: activity.activityId }, { limit: 10_000 });
      for (const c of earlier.items) {
        issued.add(c.assetId);
        activity.commandIds.push(c.commandId);
      }
    }
    for (const id of ids) {
      const target = await this.target(caller.orgId, type, id);
      if (!target) {
        invalid.push({ id, reason: 'unknown device' });
        continue;
      }
      if (issued.has(target.assetId)) continue;
      try {
        const c = await this.commands.issue({
          target,
          deviceType: type,
          activityId: activity.activityId,
          kind: type === ENOS_MQTT ? 'invokeService' : 'operation',
          name: req.operation.code,
          params: activity.payload,
          pendingTtlSeconds: ttl,
          timeoutMs: d.replyTimeoutSeconds.default * 1000,
          by: caller.clientId,
        });
        activity.commandIds.push(c.commandId);
      } catch (err) {
        if (err instanceof EnosError || err instanceof DeviceMgtError) {
          invalid.push({ id, reason: err.message });
          continue;
        }
        // A plugin refusing the operation's payload is the caller's error, not the server's.
        if (activity.commandIds.length === 0)
          throw new DeviceMgtError(400, `operation refused by device type ${type}: ${(err as Error).message}`);
        invalid.push({ id, reason: (err as Error).message });
      }
    }
    await this.activities.insert(invalid.length ? { ...activity, invalid } : activity);
    return this.activity(caller.orgId, activity.activityId);
  }

  async activity(orgId: string, activityId: string) {
    const a = await this.activities.get(activityId);
    if (!a || a.orgId !== orgId) throw new DeviceMgtError(404, `activity ${activityId} not found`);
    const ops = await this.commands.search(
      orgId,
      { activityId },
      {
        sort: [
          { field: 'createdAt', order: 'ASC' },
          { field: 'commandId', order: 'ASC' },
        ],
        limit: 10_000,
      },
    );
    return {
      activityId: a.activityId,
      code: a.code,
      type: a.type,
      createdTimeStamp: a.createdAt,
      initiatedBy: a.initiatedBy,
      activityStatus: [
        ...ops.items.map((c) => {
          const v = viewOfOperation(c);
          return {
            deviceIdentifier: v.deviceIdentifier,
            operationId: c.commandId,
            status: v.status,
            responses: v.operationResponse ? [{ response: v.operationResponse, receivedTimestamp: v.receivedTimeStamp }] : [],
            updatedTimestamp: c.history[c.history.length - 1]?.at ?? c.createdAt,
          };
        }),
        ...(a.invalid ?? []).map((i) => ({
          deviceIdentifier: { id: i.id, type: ops.items[0] ? deviceTypeOf(ops.items[0]) : null },
          operationId: null,
          status: 'INVALID',
          responses: [{ response: i.reason, receivedTimestamp: null }],
          updatedTimestamp: a.createdAt,
        })),
      ],
    };
  }

  /**
   * Every operation of the organization, newest first, whatever the device type (the MQTT devices'
   * commands as type enos-mqtt): one listing for iOS, Android, Windows and MQTT side by side.
   */
  async allOperations(orgId: string, filter: { type?: string; status?: string; since?: number }, offset: number, limit: number) {
    const byType: Filter | undefined =
      filter.type === undefined
        ? undefined
        : filter.type === ENOS_MQTT
          ? { $or: [{ deviceType: ENOS_MQTT }, { deviceType: { $exists: false } }] }
          : { deviceType: filter.type };
    const conditions: Filter[] = [
      ...(byType ? [byType] : []),
      ...(filter.status ? [{ operationStatus: filter.status }] : []),
      ...(filter.since !== undefined ? [{ createdAt: { $gte: filter.since } }] : []),
    ];
    const found = await this.commands.search(orgId, conditions.length > 0 ? { $and: conditions } : {}, {
      sort: [
        { field: 'createdAt', order: 'DESC' },
        { field: 'commandId', order: 'DESC' },
      ],
      offset,
      limit,
    });
    return { operations: found.items.map(viewOfOperation), count: found.total };
  }

  async operations(orgId: string, type: string, id: string, filter: { status?: string }, offset: number, limit: number) {
    const target =
      type === ENOS_MQTT ? await this.iotDevice(orgId, id).then((d) => d.assetId) : (await this.devices.get(orgId, type, id)).id;
    const found = await this.commands.search(
      orgId,
      { assetId: target, ...(filter.status ? { operationStatus: filter.status } : {}) },
      {
        sort: [
          { field: 'createdAt', order: 'DESC' },
          { field: 'commandId', order: 'DESC' },
        ],
        offset,
        limit,
      },
    );
    return { operations: found.items.map(viewOfOperation), count: found.total };
  }
}
