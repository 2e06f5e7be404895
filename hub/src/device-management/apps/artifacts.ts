import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { safeEqual } from '@edgehub/shared';
import { DuplicateKeyError, type Collection, type CollectionSpec } from '../../store/port.js';
import { DeviceMgtError } from '../errors.js';

export interface AppSetting {
  key: string;
  value: string;
}
export const appSettingSpec: CollectionSpec = { name: 'amSettings', key: 'key' };

/** How long a signed artifact or manifest URL handed to a device stays valid (an install may wait for an offline device). */
export const artifactUrlTtlMs = 30 * 86_400_000;

const uuidPattern = /^[0-9a-f]{32}$/;

/**
 * Uploaded release files (docs/DEVICE-MANAGEMENT.md, "Applications: artifacts"): streamed to the
 * data directory (0600) while their SHA-256 is computed and their size checked against the limit;
 * a file over the limit is refused (413) and nothing is kept. Devices download with a URL signed
 * for one release and one device (HMAC-SHA256, key in the store, shared by a cluster's nodes).
 */
export class Artifacts {
  private constructor(
    private readonly dir: string,
    readonly maxBytes: number,
    private readonly key: Buffer,
    private readonly clock: () => number,
  ) {}

  static async open(settings: Collection<AppSetting>, dir: string, maxBytes: number, clock: () => number): Promise<Artifacts> {
    let s = await settings.get('artifactUrlKey');
    if (!s) {
      try {
        await settings.insert({ key: 'artifactUrlKey', value: randomBytes(32).toString('base64') });
      } catch (e) {
        if (!(e instanceof DuplicateKeyError)) throw e; // another node made it first
      }
      s = await settings.get('artifactUrlKey');
    }
    return new Artifacts(dir, maxBytes, Buffer.from(s!.value, 'base64'), clock);
  }

  /** Streams a release's file to disk; resolves with its size and SHA-256 once it is complete. */
  async store(uuid: string, body: Readable): Promise<{ size: number; sha256: string }> {
    const path = this.pathOf(uuid);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const partial = `${path}.${randomBytes(4).toString('hex')}.part`;
    const hash = createHash('sha256');
    let size = 0;
    const max = this.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) return done(new DeviceMgtError(413, `the artifact is larger than ${max} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(partial, { mode: 0o600 }));
      if (size === 0) throw new DeviceMgtError(400, 'the artifact is empty');
      await rename(partial, path);
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
    return { size, sha256: hash.digest('hex') };
  }

  async file(uuid: string): Promise<{ stream: Readable; size: number } | undefined> {
    const path = this.pathOf(uuid);
    try {
      const { size } = await stat(path);
      return { stream: createReadStream(path), size };
    } catch {
      return undefined;
    }
  }

  async remove(uuid: string): Promise<void> {
    await rm(this.pathOf(uuid), { force: true });
  }

  /** Path and query of a signed device download: `what` is 'artifact' or 'manifest.plist'. */
  pathFor(what: 'artifact' | 'manifest.plist', uuid: string, deviceId: string): string {
    const expires = Math.floor((this.clock() + artifactUrlTtlMs) / 1000);
    const q = new URLSearchParams({ device: deviceId, expires: String(expires), signature: this.sign(what, uuid, deviceId, expires) });
    return `/apps/v1/releases/${uuid}/${what}?${q.toString()}`;
  }

  /** Why a download must be refused, or undefined when the URL is genuine and not expired. */
  check(
    what: 'artifact' | 'manifest.plist',
    uuid: string,
    q: { device?: string; expires?: string; signature?: string },
  ): string | undefined {
    if (!q.device || !q.expires || !q.signature || !/^\d{1,12}$/.test(q.expires)) return 'not a signed download URL';
    if (!safeEqual(q.signature, this.sign(what, uuid, q.device, Number(q.expires)))) return 'the signature does not match';
    if (Number(q.expires) * 1000 < this.clock()) return 'the URL has expired';
    return undefined;
  }

  private sign(what: string, uuid: string, deviceId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${what}\n${uuid}\n${deviceId}\n${expires}`).digest('hex');
  }

  private pathOf(uuid: string): string {
    if (!uuidPattern.test(uuid)) throw new DeviceMgtError(404, 'release not found');
    return join(this.dir, uuid);
  }
}
