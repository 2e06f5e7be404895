/**
 * The command-channel contract (docs/DEVICE-MANAGEMENT.md, "Command core"): every device type's
 * way to a device — pushed over MQTT (enos-mqtt) or woken and pulled (the core's JSON pull type,
 * pushed through a push provider) — delivers queued commands in order, one answer per command,
 * stores each answer with its operation status, and ends an unanswered command as TIMEOUT.
 */
import { EventEmitter, once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import { ApiClient } from '@edgehub/hub';
import type { CommandTarget } from '../../hub/src/commands/command-core.js';
import type { CommandRecord } from '../../hub/src/commands/records.js';
import { deviceTypeFactories } from '../../hub/src/device-types/plugins.js';
import type { PushProvider, PushTarget } from '../../hub/src/push/port.js';
import { jsonPullDeviceType } from '../../hub/test/support/pull-device-type.js';
import { connectDevice, newTenant, provision, startHub, type RunningHub, type TestDevice } from '../src/index.js';

type Answer = 'ok' | 'error' | 'silent';

interface ContractDevice {
  target: CommandTarget;
  deviceType: string;
  code: string;
  /** Lets the device take its commands; it answers the i-th one as told. Resolves with the command ids in the order received. */
  receive(answers: Answer[]): Promise<string[]>;
  close(): Promise<void>;
}

interface Driver {
  type: string;
  device(h: RunningHub, n: number): Promise<ContractDevice>;
  /** Makes an unanswered, delivered command run out of time. */
  expire(h: RunningHub, c: CommandRecord): Promise<void>;
  pendingTtlSeconds: number;
  timeoutMs: number;
}

let orgId: string;
let client: ApiClient;

/** The command once it left pending/sent (an answer travels asynchronously; awaited by event, not by sleeping). */
async function settled(h: RunningHub, commandId: string): Promise<CommandRecord> {
  for (;;) {
    const changed = once(h.hub.commands, 'status');
    const c = await h.hub.commands.get(orgId, commandId);
    if (c.status !== 'pending' && c.status !== 'sent') return c;
    await changed;
  }
}

const enosMqtt: Driver = {
  type: 'enos-mqtt',
  pendingTtlSeconds: 3600,
  timeoutMs: 400,
  async device(h, n) {
    const p = await provision(client, orgId, { productType: 'Device', deviceKeys: [`dev${n}`] });
    const creds = p.devices[0]!;
    let dev: TestDevice | undefined;
    return {
      target: { orgId, assetId: creds.assetId, productKey: creds.productKey, deviceKey: creds.deviceKey },
      deviceType: 'enos-mqtt',
      code: 'reboot',
      async receive(answers) {
        dev = await connectDevice(h.mqttUrl, creds);
        const ids: string[] = [];
        for (const answer of answers) {
          const m = await dev.next((t) => topics.parse(t)?.kind === 'serviceInvoke');
          ids.push(String(m.json.id));
          if (answer !== 'silent')
            await dev.client.publishAsync(
              topics.reply(m.topic),
              JSON.stringify({ id: m.json.id, code: answer === 'ok' ? 200 : 500, data: {} }),
              { qos: 0 },
            );
        }
        return ids;
      },
      async close() {
        await dev?.end();
      },
    };
  },
  async expire(h, c) {
    // The reply timer runs out on its own (timeoutMs): wait for the stored status.
    await settled(h, c.commandId);
  },
};

/** Pushes recorded as the push service would receive them. */
const pushes = new EventEmitter<{ push: [PushTarget] }>();
const recordingProvider: PushProvider = {
  id: 'recording',
  async wake(target) {
    pushes.emit('push', target);
    return { kind: 'sent' };
  },
};

const jsonPull: Driver = {
  type: 'json-pull',
  pendingTtlSeconds: 3600,
  timeoutMs: 3_600_000,
  async device(h, n) {
    const d = await h.hub.devices.enroll({ orgId, type: 'json-pull', deviceIdentifier: `phone-${n}`, owner: 'ops' });
    await h.hub.devices.setPushToken(d.id, `token-${n}`, { topic: 't' });
    const pushed = new Promise<void>((resolve) => pushes.on('push', (t) => t.deviceId === d.id && resolve()));
    return {
      target: { orgId, assetId: d.id, productKey: 'json-pull', deviceKey: d.deviceIdentifier },
      deviceType: 'json-pull',
      code: 'DEVICE_LOCK',
      async receive(answers) {
        await pushed; // the device checks in because it was woken
        const session = `s-${n}`;
        const ids: string[] = [];
        for (const answer of answers) {
          const next = await h.hub.commands.pull.nextCommand({ deviceType: 'json-pull', deviceId: d.id }, session);
          if (!next) break;
          ids.push(next.command.commandId);
          if (answer !== 'silent')
            await h.hub.commands.pull.report({ deviceType: 'json-pull', deviceId: d.id }, session, {
              commandId: next.command.commandId,
              outcome: answer === 'ok' ? 'acknowledged' : 'error',
            });
        }
        return ids;
      },
      async close() {},
    };
  },
  async expire(h) {
    h.advanceClock(3_601_000);
    await h.hub.commands.sweep();
  },
};

describe('command channel contract', () => {
  let h: RunningHub;
  let n = 0;

  beforeAll(async () => {
    deviceTypeFactories['json-pull'] = () => jsonPullDeviceType('json-pull', recordingProvider);
    h = await startHub();
    const t = await newTenant(h, 'channels');
    orgId = t.orgId;
    client = new ApiClient({ baseUrl: h.baseUrl, accessKey: t.accessKey, accessSecret: t.accessSecret });
  });
  afterAll(async () => {
    await h?.close();
    delete deviceTypeFactories['json-pull'];
  });

  for (const driver of [enosMqtt, jsonPull]) {
    describe(driver.type, () => {
      // Each command differs in its params: an identical one issued again to a wake-and-pull device
      // while the first still waits ends the first REPEATED (docs/DEVICE-MANAGEMENT.md, "Operation statuses").
      let seq = 0;
      const issue = (d: ContractDevice) =>
        h.hub.commands.issue({
          target: d.target,
          deviceType: d.deviceType,
          kind: d.deviceType === 'enos-mqtt' ? 'invokeService' : 'operation',
          name: d.code,
          params: { seq: ++seq },
          pendingTtlSeconds: driver.pendingTtlSeconds,
          timeoutMs: driver.timeoutMs,
          by: 'contract',
        });

      it('delivers queued commands in order and stores each answer with its operation status', async () => {
        const d = await driver.device(h, ++n);
        try {
          const issued = [await issue(d), await issue(d), await issue(d)];
          expect(issued.map((c) => c.operationStatus)).toEqual(['PENDING', 'PENDING', 'PENDING']);
          const received = await d.receive(['ok', 'error', 'ok']);
          expect(received).toEqual(issued.map((c) => c.commandId));
          const stored = await Promise.all(issued.map((c) => settled(h, c.commandId)));
          expect(stored.map((c) => c.operationStatus)).toEqual(['COMPLETED', 'ERROR', 'COMPLETED']);
          expect(stored[0]!.history.map((e) => e.status).slice(0, 2)).toEqual(['pending', 'sent']);
        } finally {
          await d.close();
        }
      });

      it('ends a delivered command nobody answers as TIMEOUT', async () => {
        const d = await driver.device(h, ++n);
        try {
          const c = await issue(d);
          expect(await d.receive(['silent'])).toEqual([c.commandId]);
          await driver.expire(h, c);
          const stored = await h.hub.commands.get(orgId, c.commandId);
          expect([stored.status, stored.operationStatus]).toEqual(['timeout', 'TIMEOUT']);
        } finally {
          await d.close();
        }
      });
    });
  }
});
