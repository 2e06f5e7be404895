import { EnosError, codes } from '@edgehub/shared';
import type { Collection, FindOptions } from '../store/port.js';
import type { DeviceRef, Devices } from './devices.js';
import type { RegistryEventBus } from './events.js';
import type { DeviceRecord } from './records.js';

export interface TopologyLimits {
  /** Sub-devices one gateway may hold in its topology (11739 beyond). */
  maxSubDevicesPerGateway: number;
}

/** Gateway ↔ sub-device relations. A sub-device belongs to at most one gateway. */
export class Topology {
  constructor(
    private readonly deviceCollection: Collection<DeviceRecord>,
    private readonly devices: Devices,
    private readonly events: RegistryEventBus,
    private readonly limits: TopologyLimits,
  ) {}

  async requireGateway(orgId: string, ref: DeviceRef): Promise<DeviceRecord> {
    const gw = await this.devices.require(orgId, ref);
    if (gw.productType !== 'Gateway') throw new EnosError(codes.notAGateway, `Device ${gw.assetId} is not a gateway`);
    return gw;
  }

  /**
   * Adds sub-devices to a gateway, all or nothing: every sub-device is checked first, and if a
   * concurrent change makes one bind fail, the ones already bound by this call are released.
   */
  async addSubDevices(orgId: string, gatewayRef: DeviceRef, subRefs: DeviceRef[]): Promise<DeviceRecord[]> {
    const gw = await this.requireGateway(orgId, gatewayRef);
    const subs: DeviceRecord[] = [];
    const seen = new Set<string>();
    for (const ref of subRefs) {
      const sub = await this.devices.require(orgId, ref);
      if (seen.has(sub.assetId)) continue;
      seen.add(sub.assetId);
      if (sub.assetId === gw.assetId)
        throw new EnosError(codes.invalidArgument, 'Invalid Argument subDevices: a gateway cannot be its own sub-device');
      if (sub.productType === 'Gateway')
        throw new EnosError(codes.invalidArgument, `Invalid Argument subDevices: ${sub.assetId} is a gateway`);
      if (sub.gatewayAssetId !== undefined && sub.gatewayAssetId !== gw.assetId) {
        throw new EnosError(codes.subDeviceBoundElsewhere, `Sub-device ${sub.assetId} already belongs to gateway ${sub.gatewayAssetId}`);
      }
      subs.push(sub);
    }
    const fresh = subs.filter((s) => s.gatewayAssetId !== gw.assetId);
    const current = await this.deviceCollection.count({ gatewayAssetId: gw.assetId });
    if (current + fresh.length > this.limits.maxSubDevicesPerGateway) {
      throw new EnosError(
        codes.deviceLimitExceeded,
        `Gateway ${gw.assetId} would exceed ${this.limits.maxSubDevicesPerGateway} sub-devices`,
      );
    }
    const bound: DeviceRecord[] = [];
    for (const sub of fresh) {
      const updated = await this.deviceCollection.update(
        sub.assetId,
        { gatewayAssetId: gw.assetId },
        { orgId, gatewayAssetId: { $exists: false } },
      );
      if (!updated) {
        for (const b of bound) await this.deviceCollection.unset(b.assetId, ['gatewayAssetId'], { gatewayAssetId: gw.assetId });
        throw new EnosError(codes.subDeviceBoundElsewhere, `Sub-device ${sub.assetId} was bound to another gateway meanwhile`);
      }
      bound.push(updated);
    }
    for (const b of bound) this.events.emit('subDeviceAdded', gw, b);
    return subs;
  }

  async removeSubDevices(orgId: string, gatewayRef: DeviceRef, subRefs: DeviceRef[]): Promise<void> {
    const gw = await this.requireGateway(orgId, gatewayRef);
    const subs: DeviceRecord[] = [];
    for (const ref of subRefs) {
      const sub = await this.devices.require(orgId, ref);
      if (sub.gatewayAssetId !== gw.assetId) {
        throw new EnosError(codes.invalidArgument, `Invalid Argument subDevices: ${sub.assetId} is not a sub-device of ${gw.assetId}`);
      }
      subs.push(sub);
    }
    for (const sub of subs) {
      const updated = await this.deviceCollection.unset(sub.assetId, ['gatewayAssetId'], { gatewayAssetId: gw.assetId });
      if (updated) this.events.emit('subDeviceRemoved', gw, updated);
    }
  }

  async searchSubDevices(orgId: string, gatewayRef: DeviceRef, options: FindOptions) {
    const gw = await this.requireGateway(orgId, gatewayRef);
    return this.deviceCollection.find({ orgId, gatewayAssetId: gw.assetId }, options);
  }

  async getGateway(orgId: string, subRef: DeviceRef): Promise<DeviceRecord | undefined> {
    const sub = await this.devices.require(orgId, subRef);
    if (sub.gatewayAssetId === undefined) return undefined;
    return this.devices.find({ assetId: sub.gatewayAssetId });
  }
}
