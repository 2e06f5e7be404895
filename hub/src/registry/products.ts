import { EnosError, codes } from '@edgehub/shared';
import { DuplicateKeyError, type Collection, type Filter, type FindOptions } from '../store/port.js';
import { newProductKey, newProductSecret } from './ids.js';
import type { DataFormat, DeviceRecord, ProductRecord, ProductType, StringI18n } from './records.js';
import { RecordCache } from './record-cache.js';
import { normalizeThingModel, type ThingModel } from './thing-model.js';

export interface NewProduct {
  productName: StringI18n;
  productDesc?: string;
  productType: ProductType;
  dataFormat: DataFormat;
  biDirectionalAuth: boolean;
  dynamicActivateEnabled?: boolean;
  modelId?: string;
  thingModel?: Partial<ThingModel>;
  productTags?: Record<string, string>;
  defaultValidDay?: number;
  maxValidDay?: number;
}

export type ProductUpdate = Partial<Omit<NewProduct, 'productType'>>;

export const CERT_DEFAULT_VALID_DAY = 730;
export const CERT_MAX_VALID_DAY = 3650;
const KEY_ATTEMPTS = 5;

export class Products {
  /** Products by key, read on every CONNECT and every post (record-cache.ts; dropped on update and delete). */
  private readonly cache: RecordCache<ProductRecord>;

  constructor(
    private readonly products: Collection<ProductRecord>,
    private readonly devices: Collection<DeviceRecord>,
    cacheRecords = false,
  ) {
    this.cache = new RecordCache(cacheRecords);
  }

  async create(orgId: string, input: NewProduct, by: string, now = Date.now()): Promise<ProductRecord> {
    const validity = checkValidity(input.defaultValidDay ?? CERT_DEFAULT_VALID_DAY, input.maxValidDay ?? CERT_MAX_VALID_DAY);
    for (let attempt = 0; ; attempt++) {
      const product: ProductRecord = {
        productKey: newProductKey(),
        orgId,
        productName: input.productName,
        productType: input.productType,
        dataFormat: input.dataFormat,
        productSecret: newProductSecret(),
        productTags: input.productTags ?? {},
        thingModel: normalizeThingModel(input.thingModel),
        biDirectionalAuth: input.biDirectionalAuth,
        dynamicActivateEnabled: input.dynamicActivateEnabled ?? false,
        ...validity,
        createBy: by,
        createTime: now,
        updateBy: by,
        updateTime: now,
      };
      if (input.productDesc !== undefined) product.productDesc = input.productDesc;
      if (input.modelId !== undefined) product.modelId = input.modelId;
      try {
        await this.products.insert(product);
        return product;
      } catch (e) {
        if (!(e instanceof DuplicateKeyError) || attempt + 1 >= KEY_ATTEMPTS) throw e;
      }
    }
  }

  /** A product of this org, or 11611. Another org's product is indistinguishable from a missing one. */
  async require(orgId: string, productKey: string): Promise<ProductRecord> {
    const p = await this.byKey(productKey);
    if (!p || p.orgId !== orgId) throw new EnosError(codes.productNotFound, `Product not found: ${productKey}`);
    return p;
  }

  /** The product, whichever org it belongs to. The record is shared with other callers: never modify it. */
  byKey(productKey: string): Promise<ProductRecord | undefined> {
    return this.cache.read(productKey, () => this.products.get(productKey));
  }

  async update(orgId: string, productKey: string, input: ProductUpdate, by: string, now = Date.now()): Promise<ProductRecord> {
    const current = await this.require(orgId, productKey);
    const set: Partial<ProductRecord> = { updateBy: by, updateTime: now };
    if (input.productName !== undefined) set.productName = input.productName;
    if (input.productDesc !== undefined) set.productDesc = input.productDesc;
    if (input.dataFormat !== undefined) set.dataFormat = input.dataFormat;
    if (input.biDirectionalAuth !== undefined) set.biDirectionalAuth = input.biDirectionalAuth;
    if (input.dynamicActivateEnabled !== undefined) set.dynamicActivateEnabled = input.dynamicActivateEnabled;
    if (input.modelId !== undefined) set.modelId = input.modelId;
    if (input.thingModel !== undefined) set.thingModel = normalizeThingModel(input.thingModel);
    if (input.productTags !== undefined) set.productTags = input.productTags;
    if (input.defaultValidDay !== undefined || input.maxValidDay !== undefined) {
      Object.assign(set, checkValidity(input.defaultValidDay ?? current.defaultValidDay, input.maxValidDay ?? current.maxValidDay));
    }
    const updated = await this.products.update(productKey, set, { orgId }).finally(() => this.cache.drop(productKey));
    if (!updated) throw new EnosError(codes.productNotFound, `Product not found: ${productKey}`);
    return updated;
  }

  /** A product with devices cannot be deleted: deleting it would orphan their credentials. */
  async delete(orgId: string, productKey: string): Promise<void> {
    await this.require(orgId, productKey);
    const n = await this.devices.count({ productKey });
    if (n > 0) throw new EnosError(codes.productHasDevices, `Product ${productKey} still has ${n} devices`);
    await this.products.delete(productKey, { orgId }).finally(() => this.cache.drop(productKey));
  }

  search(orgId: string, filter: Filter, options: FindOptions) {
    return this.products.find({ $and: [{ orgId }, filter] }, options);
  }
}

function checkValidity(defaultValidDay: number, maxValidDay: number) {
  if (defaultValidDay > maxValidDay) {
    throw new EnosError(codes.invalidArgument, 'Invalid Argument defaultValidDay: must not exceed maxValidDay');
  }
  return { defaultValidDay, maxValidDay };
}
