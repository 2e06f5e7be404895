import { randomUUID } from 'node:crypto';
import type { Collection, CollectionSpec, Filter } from '../store/port.js';
import { DuplicateKeyError } from '../store/port.js';
import { DeviceMgtError } from './errors.js';
import type { DeviceRecord, EnrolmentStatus, EnrollInput, Ownership } from './records.js';

export const deviceCollectionSpec: CollectionSpec = {
  name: 'dmDevices',
  key: 'id',
  unique: [{ name: 'typeIdentifier', fields: ['type', 'deviceIdentifier'] }],
  indexes: ['orgId', 'type', 'status'],
};

export interface DeviceListFilter {
  type?: string;
  status?: EnrolmentStatus;
  ownership?: Ownership;
  owner?: string;
  groupId?: string;
}

export type DevicePatch = Partial<Pick<DeviceRecord, 'name' | 'description' | 'owner' | 'ownership' | 'status' | 'properties'>>;

/**
 * The enrolled devices of every device-management type (docs/DEVICE-MANAGEMENT.md, "Devices").
 * A device identifier is unique within its type across organizations: a device enrolled in one
 * organization cannot be enrolled in another until it is disenrolled there.
 */
export class DeviceDirectory {
  constructor(
    private readonly devices: Collection<DeviceRecord>,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Enrolls a device, or re-enrolls one known to the same organization (or removed elsewhere). */
  async enroll(input: EnrollInput): Promise<DeviceRecord> {
    const now = this.clock();
    const existing = await this.byIdentifier(input.type, input.deviceIdentifier);
    if (existing) {
      if (existing.orgId !== input.orgId && existing.status !== 'REMOVED') {
        throw new DeviceMgtError(409, `device ${input.type}/${input.deviceIdentifier} is enrolled in another organization`);
      }
      const set: Partial<DeviceRecord> = {
        orgId: input.orgId,
        owner: input.owner,
        status: 'ACTIVE',
        dateOfLastUpdate: now,
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.ownership !== undefined ? { ownership: input.ownership } : {}),
        ...(input.properties !== undefined ? { properties: { ...existing.properties, ...input.properties } } : {}),
        ...(existing.orgId !== input.orgId
          ? { groupIds: [], dateOfEnrolment: now }
          : existing.status === 'REMOVED'
            ? { dateOfEnrolment: now }
            : {}),
      };
      return (await this.devices.update(existing.id, set)) ?? { ...existing, ...set };
    }
    const record: DeviceRecord = {
      id: randomUUID(),
      orgId: input.orgId,
      type: input.type,
      deviceIdentifier: input.deviceIdentifier,
      name: input.name ?? input.deviceIdentifier,
      ...(input.description !== undefined ? { description: input.description } : {}),
      owner: input.owner,
      ownership: input.ownership ?? 'BYOD',
      status: 'ACTIVE',
      dateOfEnrolment: now,
      dateOfLastUpdate: now,
      properties: input.properties ?? {},
      groupIds: [],
    };
    try {
      await this.devices.insert(record);
    } catch (err) {
      // Two enrollments of the same device raced: the other one won; answer with it.
      if (err instanceof DuplicateKeyError) return this.enroll(input);
      throw err;
    }
    return record;
  }

  /** Device-facing lookup (the device proved who it is; no organization in the request). */
  byIdentifier(type: string, deviceIdentifier: string): Promise<DeviceRecord | undefined> {
    return this.devices.findOne({ type, deviceIdentifier });
  }

  byId(id: string): Promise<DeviceRecord | undefined> {
    return this.devices.get(id);
  }

  /** A device of this organization; 404 for a device of another one (its existence is not revealed). */
  async get(orgId: string, type: string, deviceIdentifier: string): Promise<DeviceRecord> {
    const d = await this.byIdentifier(type, deviceIdentifier);
    if (!d || d.orgId !== orgId) throw new DeviceMgtError(404, `device ${type}/${deviceIdentifier} not found`);
    return d;
  }

  async update(orgId: string, type: string, deviceIdentifier: string, patch: DevicePatch): Promise<DeviceRecord> {
    const d = await this.get(orgId, type, deviceIdentifier);
    const set: Partial<DeviceRecord> = { ...patch, dateOfLastUpdate: this.clock() };
    if (patch.properties) set.properties = { ...d.properties, ...patch.properties };
    return (await this.devices.update(d.id, set, { orgId })) ?? { ...d, ...set };
  }

  /** Stores the push credentials a device registered; a new token clears an "invalid" mark. */
  async setPushToken(id: string, token: string, extra: Record<string, string>): Promise<void> {
    const now = this.clock();
    await this.devices.update(id, { push: { token, extra, updatedAt: now }, lastSeenAt: now });
  }

  /** The push service said the token is dead: no wakes until the device registers a new one. */
  async markPushTokenInvalid(id: string, token: string): Promise<void> {
    const d = await this.devices.get(id);
    if (!d?.push || d.push.token !== token) return;
    await this.devices.update(id, { push: { ...d.push, invalidSince: this.clock() } });
  }

  async touch(id: string): Promise<void> {
    const now = this.clock();
    await this.devices.update(id, { lastSeenAt: now });
  }

  /** Disenrolls: status REMOVED, push credentials dropped. Queued commands are the core's to expire. */
  async disenroll(id: string): Promise<DeviceRecord | undefined> {
    await this.devices.unset(id, ['push']);
    return this.devices.update(id, { status: 'REMOVED', dateOfLastUpdate: this.clock() });
  }

  async setGroups(id: string, groupIds: string[]): Promise<void> {
    await this.devices.update(id, { groupIds });
  }

  list(orgId: string, filter: DeviceListFilter, offset: number, limit: number) {
    const f: Filter = { orgId };
    if (filter.type) f.type = filter.type;
    if (filter.status) f.status = filter.status;
    if (filter.ownership) f.ownership = filter.ownership;
    if (filter.owner) f.owner = filter.owner;
    if (filter.groupId) f.groupIds = filter.groupId;
    return this.devices.find(f, {
      sort: [
        { field: 'dateOfEnrolment', order: 'ASC' },
        { field: 'id', order: 'ASC' },
      ],
      offset,
      limit,
    });
  }

  count(filter: Filter): Promise<number> {
    return this.devices.count(filter);
  }
}
