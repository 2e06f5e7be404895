import { EnosError, codes } from '@edgehub/shared';
import type { Collection, CollectionSpec } from '../store/port.js';
import { binaryLayoutCodec, layoutProblem, type BinaryLayout } from './binary-layout.js';
import { cborRawCodec } from './cbor-codec.js';
import type { RawCodec } from './raw-codec.js';

/** What a Custom product's raw payloads are (docs/PROTOCOL.md §7.1). */
export type CodecConfig = { type: 'cbor' } | { type: 'binary'; layout: BinaryLayout };

export interface ProductCodecRecord {
  productKey: string;
  orgId: string;
  codec: CodecConfig;
  updateTime: number;
}

export const productCodecsSpec: CollectionSpec = { name: 'productCodecs', key: 'productKey', indexes: ['orgId'] };

export function codecOf(config: CodecConfig): RawCodec {
  return config.type === 'cbor' ? cborRawCodec : binaryLayoutCodec(config.layout);
}

/** How long a looked-up codec is reused before the store is asked again (other nodes may change it). */
const CACHE_MS = 5_000;

/** The codec of each Custom product: set over REST, read on every raw message (cached briefly). */
export class ProductCodecs {
  private readonly cache = new Map<string, { at: number; entry: { config: CodecConfig; codec: RawCodec } | undefined }>();

  constructor(
    private readonly records: Collection<ProductCodecRecord>,
    private readonly clock: () => number = Date.now,
  ) {}

  async set(orgId: string, productKey: string, config: CodecConfig): Promise<ProductCodecRecord> {
    if (config.type === 'binary') {
      const problem = layoutProblem(config.layout);
      if (problem) throw new EnosError(codes.invalidArgument, `Invalid Argument codec.layout: ${problem}`);
    }
    const record: ProductCodecRecord = { productKey, orgId, codec: config, updateTime: this.clock() };
    const updated = await this.records.update(productKey, { codec: config, updateTime: record.updateTime }, { orgId });
    if (!updated) await this.records.insert(record);
    this.cache.delete(productKey);
    return updated ?? record;
  }

  async get(orgId: string, productKey: string): Promise<ProductCodecRecord | undefined> {
    const r = await this.records.get(productKey);
    return r && r.orgId === orgId ? r : undefined;
  }

  async remove(orgId: string, productKey: string): Promise<boolean> {
    this.cache.delete(productKey);
    return this.records.delete(productKey, { orgId });
  }

  /** The codec raw messages of this product are read with; undefined when none is set. */
  async codecFor(productKey: string): Promise<RawCodec | undefined> {
    const now = this.clock();
    const hit = this.cache.get(productKey);
    if (hit && now - hit.at < CACHE_MS) return hit.entry?.codec;
    const r = await this.records.get(productKey);
    const entry = r ? { config: r.codec, codec: codecOf(r.codec) } : undefined;
    this.cache.set(productKey, { at: now, entry });
    return entry?.codec;
  }
}
