import type { Logger } from 'pino';
import type { CommandCore } from '../commands/command-core.js';
import { deviceTypeOf } from '../commands/records.js';
import type { DeviceDirectory } from '../device-management/device-directory.js';
import type { DeviceTypes } from './plugins.js';
import { MemoryWakeQueue } from '../push/memory-wake-queue.js';
import { RedisWakeQueue } from '../push/redis-wake-queue.js';
import type { WakeQueue } from '../push/wake-queue.js';
import { WakeWorker, defaultWakeWorkerOptions, type WakeResolution } from '../push/wake-worker.js';

export interface PushCore {
  queue: WakeQueue;
  worker: WakeWorker;
  close(): Promise<void>;
}

/**
 * Wires the push core (docs/DEVICE-MANAGEMENT.md, "Push queue"): the command core's waker enqueues
 * a wake-up for each command queued for a 'wake-and-pull' device; the worker pushes it through the
 * device type's provider with the token the device registered. In a cluster the queue is in Redis.
 */
export function openPushCore(opts: {
  commands: CommandCore;
  devices: DeviceDirectory;
  types: DeviceTypes;
  log: Logger;
  clock: () => number;
  redisUrl?: string;
}): PushCore {
  const queue: WakeQueue = opts.redisUrl
    ? new RedisWakeQueue(opts.redisUrl, 'edgehub:wakes:', opts.clock)
    : new MemoryWakeQueue(opts.clock);
  const resolve = async (deviceType: string, deviceId: string): Promise<WakeResolution> => {
    const provider = opts.types.get(deviceType)?.pushProvider;
    if (!provider) return { drop: `device type ${deviceType} has no push provider` };
    const device = await opts.devices.byId(deviceId);
    if (!device || device.status === 'REMOVED') return { drop: 'device not enrolled' };
    if (!device.push || device.push.invalidSince !== undefined) return { drop: 'no valid push token' };
    return { provider, target: { orgId: device.orgId, deviceType, deviceId, token: device.push.token, extra: device.push.extra } };
  };
  const worker = new WakeWorker(
    queue,
    resolve,
    (t) => opts.devices.markPushTokenInvalid(t.deviceId, t.token),
    opts.log,
    defaultWakeWorkerOptions,
    opts.clock,
  );
  opts.commands.setWaker(async (c) => {
    await queue.enqueue({ deviceType: deviceTypeOf(c), deviceId: c.assetId });
    worker.notify();
  });
  worker.start();
  return {
    queue,
    worker,
    async close() {
      await worker.stop();
      await queue.close();
    },
  };
}
