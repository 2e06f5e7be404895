import { createHash, randomUUID } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnosError, codes } from '@edgehub/shared';
import { DuplicateKeyError, type Collection } from '../store/port.js';
import type { FirmwareRecord, SignMethod } from './records.js';

export interface NewFirmware {
  productKey: string;
  version: string;
  fileName?: string;
  signMethod?: SignMethod;
  desc?: string;
}

/**
 * Firmware packages: the file under the data directory (0600), its record with both digests
 * in the store. A product has each version once.
 */
export class Firmwares {
  constructor(
    private readonly records: Collection<FirmwareRecord>,
    private readonly dir: string,
    readonly maxBytes: number,
    private readonly clock: () => number,
  ) {}

  async upload(orgId: string, input: NewFirmware, file: Buffer): Promise<FirmwareRecord> {
    if (file.length === 0) throw new EnosError(codes.invalidArgument, 'Invalid Argument file: the firmware file is empty');
    if (file.length > this.maxBytes)
      throw new EnosError(
        codes.bodyTooLarge,
        `Request body too large: the firmware is ${file.length} bytes, at most ${this.maxBytes} are accepted`,
      );
    const firmwareId = randomUUID().replaceAll('-', '');
    const record: FirmwareRecord = {
      firmwareId,
      orgId,
      productKey: input.productKey,
      version: input.version,
      fileName: input.fileName ?? `${input.productKey}-${input.version}.bin`,
      fileSize: file.length,
      md5: createHash('md5').update(file).digest('hex'),
      sha256: createHash('sha256').update(file).digest('hex'),
      signMethod: input.signMethod ?? 'md5',
      createTime: this.clock(),
    };
    if (input.desc !== undefined) record.desc = input.desc;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await writeFile(this.pathOf(firmwareId), file, { mode: 0o600 });
    try {
      await this.records.insert(record);
    } catch (e) {
      await rm(this.pathOf(firmwareId), { force: true });
      if (e instanceof DuplicateKeyError)
        throw new EnosError(
          codes.invalidArgument,
          `Invalid Argument version: product ${input.productKey} already has firmware ${input.version}`,
        );
      throw e;
    }
    return record;
  }

  async require(orgId: string, firmwareId: string): Promise<FirmwareRecord> {
    const f = await this.records.get(firmwareId);
    if (!f || f.orgId !== orgId) throw new EnosError(codes.notFound, `Object not found: firmware ${firmwareId}`);
    return f;
  }

  get(firmwareId: string): Promise<FirmwareRecord | undefined> {
    return this.records.get(firmwareId);
  }

  list(orgId: string, productKey?: string) {
    return this.records.find(productKey ? { orgId, productKey } : { orgId }, {
      sort: [{ field: 'createTime', order: 'DESC' }],
      limit: 1000,
    });
  }

  async delete(orgId: string, firmwareId: string): Promise<void> {
    await this.require(orgId, firmwareId);
    await this.records.delete(firmwareId, { orgId });
    await rm(this.pathOf(firmwareId), { force: true });
  }

  /** The file of a firmware and its size on disk, or undefined when it is gone. */
  async file(firmwareId: string): Promise<{ path: string; size: number } | undefined> {
    const path = this.pathOf(firmwareId);
    try {
      return { path, size: (await stat(path)).size };
    } catch {
      return undefined;
    }
  }

  private pathOf(firmwareId: string): string {
    if (!/^[0-9a-f]{32}$/.test(firmwareId)) throw new EnosError(codes.notFound, 'Object not found: firmware');
    return join(this.dir, firmwareId);
  }
}
