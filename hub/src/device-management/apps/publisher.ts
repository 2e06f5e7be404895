import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Collection, CollectionSpec, Filter } from '../../store/port.js';
import { DeviceMgtError } from '../errors.js';
import type { Artifacts } from './artifacts.js';
import { canMove, nextStates } from './lifecycle.js';
import type { AppPlatform, AppRecord, LifecycleState, ReleaseRecord } from './records.js';

export const appSpec: CollectionSpec = {
  name: 'amApps',
  key: 'id',
  unique: [{ name: 'orgName', fields: ['orgId', 'name'] }],
  indexes: ['orgId', 'published'],
};
export const releaseSpec: CollectionSpec = {
  name: 'amReleases',
  key: 'uuid',
  unique: [{ name: 'appPlatformVersion', fields: ['appId', 'platform', 'version'] }],
  indexes: ['appId', 'orgId', 'state'],
};

export interface NewApp {
  name: string;
  description?: string;
  category?: string;
  tags?: string[];
}

export interface NewRelease {
  platform: AppPlatform;
  packageName: string;
  version: string;
  description?: string;
  /** An https URL the artifact is downloaded from, instead of an uploaded file. */
  artifactUrl?: string;
}

export interface AppFilter {
  name?: string;
  category?: string;
  platform?: AppPlatform;
  /** Only apps with a release in this state. */
  state?: LifecycleState;
}

const newId = () => randomUUID().replaceAll('-', '');

/**
 * The app publisher (docs/DEVICE-MANAGEMENT.md, "Applications: publisher"): enterprise apps of an
 * organization, their releases per platform, artifacts, and each release's life cycle with every
 * transition recorded. Everything is scoped to the caller's organization; another organization's
 * apps behave as missing ones.
 */
export class AppPublisher {
  constructor(
    private readonly apps: Collection<AppRecord>,
    private readonly releases: Collection<ReleaseRecord>,
    readonly artifacts: Artifacts,
    private readonly clock: () => number = Date.now,
  ) {}

  async create(orgId: string, input: NewApp, by: string): Promise<AppRecord> {
    if (await this.apps.findOne({ orgId, name: input.name })) throw new DeviceMgtError(409, `an application named ${input.name} exists`);
    const app: AppRecord = {
      id: newId(),
      orgId,
      name: input.name,
      description: input.description ?? '',
      ...(input.category !== undefined ? { category: input.category } : {}),
      tags: input.tags ?? [],
      createdBy: by,
      createdAt: this.clock(),
      platforms: [],
      published: false,
      publishedPlatforms: [],
    };
    await this.apps.insert(app);
    return app;
  }

  async get(orgId: string, appId: string): Promise<AppRecord> {
    const a = await this.apps.get(appId);
    if (!a || a.orgId !== orgId) throw new DeviceMgtError(404, `application ${appId} not found`);
    return a;
  }

  async list(orgId: string, filter: AppFilter & { published?: boolean }, offset: number, limit: number) {
    const f: Filter = { orgId };
    if (filter.name) f.name = { $prefix: filter.name };
    if (filter.category) f.category = filter.category;
    if (filter.published !== undefined) f.published = filter.published;
    // In the store, an app is listed for a platform it has a published release for.
    if (filter.platform) f[filter.published ? 'publishedPlatforms' : 'platforms'] = filter.platform;
    if (filter.state) {
      // Apps with a release in that state: at most a page of app ids from the releases.
      const r = await this.releases.find(
        { orgId, state: filter.state, ...(filter.platform ? { platform: filter.platform } : {}) },
        { limit: 10_000 },
      );
      f.id = { $in: [...new Set(r.items.map((x) => x.appId))] };
    }
    return this.apps.find(f, {
      sort: [
        { field: 'createdAt', order: 'ASC' },
        { field: 'id', order: 'ASC' },
      ],
      offset,
      limit,
    });
  }

  releasesOf(appId: string, filter: { state?: LifecycleState; platform?: AppPlatform } = {}) {
    return this.releases.find(
      { appId, ...(filter.state ? { state: filter.state } : {}), ...(filter.platform ? { platform: filter.platform } : {}) },
      {
        sort: [
          { field: 'createdAt', order: 'ASC' },
          { field: 'uuid', order: 'ASC' },
        ],
        limit: 1000,
      },
    );
  }

  async addRelease(orgId: string, appId: string, input: NewRelease, by: string): Promise<ReleaseRecord> {
    const app = await this.get(orgId, appId);
    if (input.artifactUrl !== undefined && !input.artifactUrl.startsWith('https://'))
      throw new DeviceMgtError(400, 'artifactUrl must be an https URL');
    if (await this.releases.findOne({ appId, platform: input.platform, version: input.version }))
      throw new DeviceMgtError(409, `application ${app.name} already has ${input.platform} release ${input.version}`);
    const now = this.clock();
    const release: ReleaseRecord = {
      uuid: newId(),
      appId,
      orgId,
      platform: input.platform,
      packageName: input.packageName,
      version: input.version,
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.artifactUrl !== undefined ? { artifact: { kind: 'url' as const, url: input.artifactUrl } } : {}),
      state: 'CREATED',
      lifecycle: [{ from: null, to: 'CREATED', by, at: now }],
      createdBy: by,
      createdAt: now,
      updatedAt: now,
    };
    await this.releases.insert(release);
    if (!app.platforms.includes(input.platform)) await this.apps.update(appId, { platforms: [...app.platforms, input.platform] });
    return release;
  }

  async release(orgId: string, uuid: string): Promise<ReleaseRecord> {
    const r = /^[0-9a-f]{32}$/.test(uuid) ? await this.releases.get(uuid) : undefined;
    if (!r || r.orgId !== orgId) throw new DeviceMgtError(404, `release ${uuid} not found`);
    return r;
  }

  /** Device-facing lookup (the device holds a signed URL; no organization in the request). */
  releaseById(uuid: string): Promise<ReleaseRecord | undefined> {
    return this.releases.get(uuid);
  }

  /** Stores an uploaded artifact; only while the release is being prepared (CREATED). */
  async uploadArtifact(orgId: string, uuid: string, fileName: string | undefined, body: Readable): Promise<ReleaseRecord> {
    const r = await this.release(orgId, uuid);
    if (r.state !== 'CREATED')
      throw new DeviceMgtError(409, `release ${uuid} is ${r.state}: its artifact can only change while it is CREATED`);
    const { size, sha256 } = await this.artifacts.store(uuid, body);
    const updated = await this.releases.update(
      uuid,
      { artifact: { kind: 'uploaded', fileName: fileName ?? `${r.packageName}-${r.version}`, size, sha256 }, updatedAt: this.clock() },
      { state: 'CREATED' },
    );
    if (!updated) throw new DeviceMgtError(409, `release ${uuid} left CREATED during the upload`);
    return updated;
  }

  /**
   * Moves a release to `to`, recording who, when and why. A move the life cycle does not allow,
   * or one raced by another move, is refused (409) and changes nothing.
   */
  async transition(orgId: string, uuid: string, to: LifecycleState, by: string, reason?: string): Promise<ReleaseRecord> {
    const r = await this.release(orgId, uuid);
    if (!canMove(r.state, to)) {
      const allowed = nextStates[r.state];
      throw new DeviceMgtError(
        409,
        `release ${uuid} is ${r.state}: ${to} is not reachable from it (allowed: ${allowed.length ? allowed.join(', ') : 'none, it is final'})`,
      );
    }
    if (to === 'IN-REVIEW' && !r.artifact)
      throw new DeviceMgtError(409, `release ${uuid} has no artifact: upload one or give an artifactUrl`);
    if (to === 'REJECTED' && !reason) throw new DeviceMgtError(400, 'a rejection needs a reason');
    const now = this.clock();
    const updated = await this.releases.update(
      uuid,
      {
        state: to,
        updatedAt: now,
        lifecycle: [...r.lifecycle, { from: r.state, to, by, at: now, ...(reason ? { reason } : {}) }],
      },
      { state: r.state },
    );
    if (!updated) throw new DeviceMgtError(409, `release ${uuid} changed state meanwhile; read it again`);
    if (to === 'PUBLISHED' || r.state === 'PUBLISHED') await this.refreshPublished(r.appId);
    return updated;
  }

  /** An app is listed in the store while one of its releases is published. */
  private async refreshPublished(appId: string): Promise<void> {
    const published = await this.releases.find({ appId, state: 'PUBLISHED' }, { limit: 1000 });
    const publishedPlatforms = [...new Set(published.items.map((r) => r.platform))];
    await this.apps.update(appId, { published: publishedPlatforms.length > 0, publishedPlatforms });
  }
}
