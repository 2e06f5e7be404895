import { EnosError, codes } from '@edgehub/shared';
import type { Collection } from '../store/port.js';
import { newAccessKey, newAccessSecret, newAppId } from './ids.js';
import { RecordCache } from './record-cache.js';
import type { ApplicationRecord, RegistrationRecord } from './records.js';

/** An application as shown by the API: everything but the secret. */
export type ApplicationView = Omit<ApplicationRecord, 'accessSecret'>;

export const viewOfApplication = ({ accessSecret: _secret, ...rest }: ApplicationRecord): ApplicationView => rest;

/** Applications, their service accounts, and their registrations in organizations. */
export class Applications {
  /**
   * Applications by appId and registrations by org + app, read on every signed request
   * (record-cache.ts): dropped when the secret is rotated or the registration removed.
   */
  private readonly appCache: RecordCache<ApplicationRecord>;
  private readonly registrationCache: RecordCache<RegistrationRecord>;

  constructor(
    private readonly apps: Collection<ApplicationRecord>,
    private readonly registrations: Collection<RegistrationRecord>,
    cacheRecords = false,
  ) {
    this.appCache = new RecordCache(cacheRecords);
    this.registrationCache = new RecordCache(cacheRecords);
  }

  /**
   * Creates an application with a new service account; the secret is returned here only.
   * `credentials` are ids and secret made beforehand (the bootstrap writes them to its file first).
   */
  async create(
    input: { name: string; orgId: string; admin?: boolean; credentials?: { appId: string; accessKey: string; accessSecret: string } },
    now = Date.now(),
  ): Promise<ApplicationRecord> {
    const app: ApplicationRecord = {
      appId: input.credentials?.appId ?? newAppId(),
      name: input.name,
      orgId: input.orgId,
      accessKey: input.credentials?.accessKey ?? newAccessKey(),
      accessSecret: input.credentials?.accessSecret ?? newAccessSecret(),
      admin: input.admin ?? false,
      createTime: now,
    };
    await this.apps.insert(app);
    // The owning organization is where an application acts first.
    await this.register(app.orgId, app.appId, now);
    return app;
  }

  /** The application with its secret. The record is shared with other callers: never modify it. */
  get(appId: string): Promise<ApplicationRecord | undefined> {
    return this.appCache.read(appId, () => this.apps.get(appId));
  }

  byAccessKey(accessKey: string): Promise<ApplicationRecord | undefined> {
    return this.apps.findOne({ accessKey });
  }

  async anyAdmin(): Promise<boolean> {
    return (await this.apps.count({ admin: true })) > 0;
  }

  async require(appId: string): Promise<ApplicationRecord> {
    const app = await this.apps.get(appId);
    if (!app) throw new EnosError(codes.notFound, `Application ${appId} not found`);
    return app;
  }

  /** Issues a new secret; the old one stops working at once. */
  async rotateSecret(appId: string): Promise<ApplicationRecord> {
    const updated = await this.apps.update(appId, { accessSecret: newAccessSecret() }).finally(() => this.appCache.drop(appId));
    if (!updated) throw new EnosError(codes.notFound, `Application ${appId} not found`);
    return updated;
  }

  list(orgId: string | undefined, offset: number, limit: number) {
    return this.apps.find(orgId ? { orgId } : {}, { sort: [{ field: 'createTime', order: 'ASC' }], offset, limit });
  }

  async register(orgId: string, appId: string, now = Date.now()): Promise<RegistrationRecord> {
    const reg: RegistrationRecord = { id: registrationId(orgId, appId), orgId, appId, createTime: now };
    const existing = await this.registrations.get(reg.id);
    if (existing) return existing;
    await this.registrations.insert(reg).catch(async (e: unknown) => {
      // A concurrent registration of the same pair is the same outcome.
      if (!(await this.registrations.get(reg.id))) throw e;
    });
    return reg;
  }

  async unregister(orgId: string, appId: string): Promise<boolean> {
    const id = registrationId(orgId, appId);
    return this.registrations.delete(id).finally(() => this.registrationCache.drop(id));
  }

  /** The application if held in memory, without reading the store (record-cache.ts `peek`). */
  held(appId: string): ApplicationRecord | undefined {
    return this.appCache.peek(appId);
  }

  /** True when the registration is held in memory (so it exists); false when only the store can tell. */
  heldRegistered(orgId: string, appId: string): boolean {
    return this.registrationCache.peek(registrationId(orgId, appId)) !== undefined;
  }

  async isRegistered(orgId: string, appId: string): Promise<boolean> {
    const id = registrationId(orgId, appId);
    return (await this.registrationCache.read(id, () => this.registrations.get(id))) !== undefined;
  }

  registrationsOf(filter: { orgId?: string; appId?: string }, offset: number, limit: number) {
    const f: Record<string, string> = {};
    if (filter.orgId) f['orgId'] = filter.orgId;
    if (filter.appId) f['appId'] = filter.appId;
    return this.registrations.find(f, { sort: [{ field: 'createTime', order: 'ASC' }], offset, limit });
  }
}

const registrationId = (orgId: string, appId: string) => `${orgId}:${appId}`;
