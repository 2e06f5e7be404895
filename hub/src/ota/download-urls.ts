import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from '@edgehub/shared';
import { DuplicateKeyError, type Collection } from '../store/port.js';
import type { OtaSetting } from './records.js';

/**
 * Signed firmware download URLs (docs/PROTOCOL.md §7.3): each URL names one
 * firmware, one device and an expiry, signed with an HMAC-SHA256 key the hub keeps in its store
 * (shared by every node of a cluster). Devices need no other credential to download.
 */
export class DownloadUrls {
  private constructor(
    private readonly key: Buffer,
    private readonly ttlMs: number,
    private readonly clock: () => number,
  ) {}

  static async open(settings: Collection<OtaSetting>, ttlMs: number, clock: () => number): Promise<DownloadUrls> {
    let s = await settings.get('downloadUrlKey');
    if (!s) {
      try {
        await settings.insert({ key: 'downloadUrlKey', value: randomBytes(32).toString('base64') });
      } catch (e) {
        if (!(e instanceof DuplicateKeyError)) throw e; // another node made it first
      }
      s = await settings.get('downloadUrlKey');
    }
    return new DownloadUrls(Buffer.from(s!.value, 'base64'), ttlMs, clock);
  }

  /** The path and query of a download (append to the hub's public base URL). */
  pathFor(firmwareId: string, assetId: string): string {
    const expires = Math.floor((this.clock() + this.ttlMs) / 1000);
    const q = new URLSearchParams({ assetId, expires: String(expires), signature: this.sign(firmwareId, assetId, expires) });
    return `/ota/v1/firmwares/${encodeURIComponent(firmwareId)}/download?${q.toString()}`;
  }

  /** Why a download must be refused, or undefined when the URL is genuine and not expired. */
  check(firmwareId: string, assetId: string | undefined, expires: string | undefined, signature: string | undefined): string | undefined {
    if (!assetId || !expires || !signature || !/^\d{1,12}$/.test(expires)) return 'the URL is not a signed download URL';
    if (!safeEqual(signature, this.sign(firmwareId, assetId, Number(expires)))) return 'the signature does not match';
    if (Number(expires) * 1000 < this.clock()) return 'the URL has expired';
    return undefined;
  }

  private sign(firmwareId: string, assetId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${firmwareId}\n${assetId}\n${expires}`).digest('hex');
  }
}
