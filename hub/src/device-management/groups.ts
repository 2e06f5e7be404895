import { randomUUID } from 'node:crypto';
import type { Collection, CollectionSpec } from '../store/port.js';
import type { DeviceDirectory } from './device-directory.js';
import { DeviceMgtError } from './errors.js';
import type { GroupRecord } from './records.js';

export const groupCollectionSpec: CollectionSpec = {
  name: 'dmGroups',
  key: 'id',
  unique: [{ name: 'orgName', fields: ['orgId', 'name'] }],
  indexes: ['orgId'],
};

/** Device groups of an organization (docs/DEVICE-MANAGEMENT.md, "Groups"); membership is kept on the device. */
export class DeviceGroups {
  constructor(
    private readonly groups: Collection<GroupRecord>,
    private readonly devices: DeviceDirectory,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(orgId: string, input: { name: string; description?: string }, owner: string): Promise<GroupRecord> {
    if (await this.groups.findOne({ orgId, name: input.name })) throw new DeviceMgtError(409, `group ${input.name} exists`);
    const g: GroupRecord = {
      id: randomUUID(),
      orgId,
      name: input.name,
      description: input.description ?? '',
      owner,
      createdAt: this.clock(),
    };
    await this.groups.insert(g);
    return g;
  }

  async get(orgId: string, id: string): Promise<GroupRecord> {
    const g = await this.groups.get(id);
    if (!g || g.orgId !== orgId) throw new DeviceMgtError(404, `group ${id} not found`);
    return g;
  }

  /** Renames a group or changes its description; its members stay. Another group's name → 409. */
  async update(orgId: string, id: string, input: { name?: string; description?: string }): Promise<GroupRecord> {
    await this.get(orgId, id);
    if (input.name !== undefined) {
      const same = await this.groups.findOne({ orgId, name: input.name });
      if (same && same.id !== id) throw new DeviceMgtError(409, `group ${input.name} exists`);
    }
    const set: Partial<GroupRecord> = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
    };
    const g = await this.groups.update(id, set, { orgId });
    if (!g) throw new DeviceMgtError(404, `group ${id} not found`);
    return g;
  }

  list(orgId: string, offset: number, limit: number) {
    return this.groups.find(
      { orgId },
      {
        sort: [
          { field: 'createdAt', order: 'ASC' },
          { field: 'id', order: 'ASC' },
        ],
        offset,
        limit,
      },
    );
  }

  async delete(orgId: string, id: string): Promise<void> {
    await this.get(orgId, id);
    for (;;) {
      const members = await this.devices.list(orgId, { groupId: id }, 0, 500);
      for (const d of members.items)
        await this.devices.setGroups(
          d.id,
          d.groupIds.filter((g) => g !== id),
        );
      if (members.items.length < 500) break;
    }
    await this.groups.delete(id, { orgId });
  }

  /** Adds or removes devices ({ type, id } = device identifier within its type). Unknown ones → 404, nothing changed. */
  async change(orgId: string, id: string, members: { type: string; id: string }[], add: boolean): Promise<void> {
    await this.get(orgId, id);
    const devices = await Promise.all(members.map((m) => this.devices.get(orgId, m.type, m.id)));
    for (const d of devices) {
      const groupIds = add ? [...new Set([...d.groupIds, id])] : d.groupIds.filter((g) => g !== id);
      await this.devices.setGroups(d.id, groupIds);
    }
  }
}
