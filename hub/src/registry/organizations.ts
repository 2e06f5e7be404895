import { EnosError, codes } from '@edgehub/shared';
import type { Collection } from '../store/port.js';
import { newOrgId } from './ids.js';
import { RecordCache } from './record-cache.js';
import type { OrganizationRecord } from './records.js';

export class Organizations {
  /** Organizations are never changed or deleted once created: checked on every signed request (record-cache.ts). */
  private readonly cache: RecordCache<OrganizationRecord>;

  constructor(
    private readonly orgs: Collection<OrganizationRecord>,
    cacheRecords = false,
  ) {
    this.cache = new RecordCache(cacheRecords);
  }

  async create(input: { name: string; description?: string; orgId?: string }, now = Date.now()): Promise<OrganizationRecord> {
    const org: OrganizationRecord = { orgId: input.orgId ?? newOrgId(), name: input.name, createTime: now };
    if (input.description !== undefined) org.description = input.description;
    await this.orgs.insert(org);
    return org;
  }

  get(orgId: string): Promise<OrganizationRecord | undefined> {
    return this.orgs.get(orgId);
  }

  /** True when the organization is held in memory (so it exists); false when only the store can tell. */
  heldExists(orgId: string): boolean {
    return this.cache.peek(orgId) !== undefined;
  }

  /** The org must exist: EnOS answers 99400 "orgId does not exist" (§7.1). */
  async require(orgId: string): Promise<OrganizationRecord> {
    const org = await this.cache.read(orgId, () => this.orgs.get(orgId));
    if (!org) throw new EnosError(codes.invalidArgument, `Invalid Argument orgId: ${orgId} does not exist`);
    return org;
  }

  list(offset: number, limit: number) {
    return this.orgs.find({}, { sort: [{ field: 'createTime', order: 'ASC' }], offset, limit });
  }
}
