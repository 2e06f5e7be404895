import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import {
  connectDevice,
  connectFrame,
  connectPassword,
  encode,
  newTenant,
  provision,
  RawSession,
  startHub,
  wentOffline,
  wentOnline,
  type ProvisionedDevice,
  type RunningHub,
} from '../src/index.js';

/**
 * Sessions belong to the authenticated device, not to the ClientId text (docs/SECURITY.md,
 * "Identity and sessions"): a device of another organization that signs correctly with its own
 * secret but sends the victim's exact ClientId gets none of the victim's session.
 */
describe('MQTT sessions keyed on the authenticated identity', () => {
  let h: RunningHub;
  let victimOrg: { orgId: string; client: ApiClient };
  let victim: ProvisionedDevice;
  let attacker: ProvisionedDevice;
  // The C SDK's fixed timestamp: the same ClientId text on every connection.
  const sharedClientId = 'victim|securemode=2,signmethod=sha256,timestamp=2050|';
  const frameFor = (d: ProvisionedDevice) =>
    connectFrame({
      clientId: sharedClientId,
      clean: false,
      username: `${d.deviceKey}&${d.productKey}`,
      password: Buffer.from(connectPassword('victim', d, '2050', 'sha256')),
    });
  const connack = async (s: RawSession) =>
    (await s.next((p) => p.cmd === 'connack')) as unknown as { returnCode: number; sessionPresent: boolean };

  beforeAll(async () => {
    h = await startHub();
    const t2 = await newTenant(h, 'victim-org');
    victimOrg = { orgId: t2.orgId, client: t2.client };
    const services = { thingModel: { services: { reboot: { inputData: {}, outputData: {} } } } };
    victim = (await provision(t2.client, t2.orgId, { productType: 'Device', deviceKeys: ['victim-meter'], product: services })).devices[0]!;
    const t1 = await newTenant(h, 'attacker-org');
    attacker = (await provision(t1.client, t1.orgId, { productType: 'Device', deviceKeys: ['attacker-meter'], product: services }))
      .devices[0]!;
  });
  afterAll(async () => {
    await h?.close();
  });

  it("another org's device with the victim's ClientId gets no session present and not the victim's unacknowledged command", async () => {
    // The victim keeps a persistent session and leaves a cached command unacknowledged.
    const v = await RawSession.open(h.mqttPort);
    const online = wentOnline(h, victim.assetId);
    v.write(frameFor(victim));
    expect(await connack(v)).toMatchObject({ returnCode: 0, sessionPresent: false });
    await online;
    v.write(
      encode({
        cmd: 'subscribe',
        messageId: 1,
        subscriptions: [{ topic: `/sys/${victim.productKey}/${victim.deviceKey}/thing/service/#`, qos: 1 }],
      }),
    );
    await v.next((p) => p.cmd === 'suback');
    const issued = await victimOrg.client.ok<{ commandId: string }>(
      'POST',
      '/connect-service/v2.1/commands',
      {
        action: 'invokeService',
        orgId: victimOrg.orgId,
        productKey: victim.productKey,
        deviceKey: victim.deviceKey,
        serviceId: 'reboot',
        pendingTtl: '600',
      },
      { inputData: {} },
    );
    const command = await v.next((p) => p.cmd === 'publish');
    expect(command['topic']).toBe(topics.serviceInvoke(victim.productKey, victim.deviceKey, 'reboot'));
    expect(command['qos']).toBe(1);
    const offline = wentOffline(h, victim.assetId);
    v.end();
    await offline;

    const a = await RawSession.open(h.mqttPort);
    a.write(frameFor(attacker));
    expect(await connack(a)).toMatchObject({ returnCode: 0, sessionPresent: false });
    // A round trip on the attacker's connection: whatever the broker queued for it came before the reply.
    const tsl = topics.tslTemplateGet(attacker.productKey, attacker.deviceKey);
    a.write(
      encode({
        cmd: 'publish',
        topic: tsl,
        qos: 0,
        payload: JSON.stringify({ id: 'probe', version: '1.0', method: 'thing.tsltemplate.get', params: {} }),
      }),
    );
    await a.next((p) => p.cmd === 'publish' && p['topic'] === `${tsl}_reply`);
    const leaked = a.received().filter((p) => p.cmd === 'publish');
    expect(leaked.map((p) => p['topic'])).toEqual([]);
    a.end();

    // The victim's own reconnect, even with another ClientId text, finds its session and its command.
    const back = await RawSession.open(h.mqttPort);
    back.write(
      connectFrame({
        clientId: 'other-cid|securemode=2,signmethod=sha256,timestamp=1|',
        clean: false,
        username: `${victim.deviceKey}&${victim.productKey}`,
        password: Buffer.from(connectPassword('other-cid', victim, '1', 'sha256')),
      }),
    );
    expect(await connack(back)).toMatchObject({ returnCode: 0, sessionPresent: true });
    const redelivered = await back.next((p) => p.cmd === 'publish');
    expect(JSON.parse(String(redelivered['payload']))).toMatchObject({ id: issued.data.commandId, method: 'thing.service.reboot' });
    // The victim's status writes of this login (online, then offline) land before the next test counts its own.
    const gone = wentOffline(h, victim.assetId);
    back.end();
    await gone;
  });

  it("another org's device with the victim's ClientId does not knock the victim offline", async () => {
    const online = wentOnline(h, victim.assetId);
    const v = await connectDevice(h.mqttUrl, victim, { clientId: 'victim', timestamp: '2050', clean: false });
    await online;
    let victimClosed = false;
    v.client.once('close', () => (victimClosed = true));

    const attackerOnline = wentOnline(h, attacker.assetId);
    const a = await connectDevice(h.mqttUrl, attacker, { clientId: 'victim', timestamp: '2050', clean: false });
    await attackerOnline;
    // Both are served: the victim's round trip after the attacker's CONNACK proves it kept its connection.
    const reply = await v.request(topics.tslTemplateGet(victim.productKey, victim.deviceKey), 'thing.tsltemplate.get', {});
    expect(reply.code).toBe(200);
    expect(victimClosed).toBe(false);
    expect(h.hub.broker.sessions.ofDevice(victim.productKey, victim.deviceKey)?.client.closed).toBe(false);
    expect(h.hub.broker.sessions.ofDevice(attacker.productKey, attacker.deviceKey)?.client.closed).toBe(false);
    const status = await victimOrg.client.ok<{ status: string }>('GET', '/connect-service/v2.1/devices', {
      action: 'get',
      orgId: victimOrg.orgId,
      productKey: victim.productKey,
      deviceKey: victim.deviceKey,
    });
    expect(status.data.status).toBe('online');
    await a.end();
    await v.end();
  });
});
