import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cborCodec, topics } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';
import { CborDevice } from '@edgehub/simulators';
import { connectDevice, newTenant, provision, startHub, type ProvisionedDevice, type RunningHub, type TestDevice } from '../src/index.js';

type Latest = { assetId: string; measurepoints: Record<string, { value: unknown; time: number }> }[];

const T = 1_700_000_000_000;
const model = {
  measurepoints: { temp: { dataType: 'DOUBLE' }, speed: { dataType: 'INT' } },
  events: { alarm: { outputData: { level: { dataType: 'INT' } } } },
};

/** A binary layout: type 1 = measurepoints (id, temp ×0.1, speed, time in seconds), type 2 = alarm event. */
const layout = {
  endian: 'big',
  frames: [
    {
      type: 1,
      method: 'thing.measurepoint.post',
      length: 13,
      id: { offset: 1, type: 'uint16' },
      fields: [
        { name: 'temp', offset: 3, type: 'int16', scale: 0.1 },
        { name: 'speed', offset: 5, type: 'uint32', endian: 'little' },
      ],
      time: { offset: 9, type: 'uint32' },
    },
    {
      type: 2,
      method: 'thing.event.alarm.post',
      length: 4,
      id: { offset: 1, type: 'uint16' },
      fields: [{ name: 'level', offset: 3, type: 'uint8' }],
    },
  ],
  commands: {
    'thing.service.setSpeed': {
      type: 0x81,
      length: 9,
      id: { offset: 1, type: 'uint32' },
      fields: [{ name: 'speed', offset: 5, type: 'uint32' }],
    },
  },
};

function measurepointFrame(id: number, temp: number, speed: number, seconds: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt8(1, 0);
  b.writeUInt16BE(id, 1);
  b.writeInt16BE(Math.round(temp * 10), 3);
  b.writeUInt32LE(speed, 5);
  b.writeUInt32BE(seconds, 9);
  return b;
}

/**
 * Raw (`dataFormat: Custom`) payloads through a real hub: real mqtt.js devices publish CBOR and
 * fixed-layout binary frames on `thing/model/up_raw`; the hub decodes them with the product's codec
 * and stores them exactly like JSON posts (docs/PROTOCOL.md §7.1).
 */
describe('raw payloads: CBOR and binary-layout devices', () => {
  let h: RunningHub;
  let c: ApiClient;
  let orgId: string;
  let jsonDev: ProvisionedDevice;
  let cborDev: ProvisionedDevice;
  let binDev: ProvisionedDevice;
  let json: TestDevice;
  let cbor: TestDevice;
  let bin: TestDevice;

  const latest = async (d: ProvisionedDevice) =>
    (await c.ok<Latest>('POST', '/connect-service/v2.1/measurepoints', { action: 'queryLatest', orgId }, { assetIds: [d.assetId] }))
      .data[0]!.measurepoints;
  const setCodec = (productKey: string, codec: unknown) =>
    c.call('POST', '/connect-service/v2.1/products', { action: 'setCodec', orgId, productKey }, { codec });
  const upRaw = async (dev: TestDevice, payload: Buffer) => {
    const { productKey: pk, deviceKey: dk } = dev.creds;
    const reply = dev.next((t) => t === topics.reply(topics.upRaw(pk, dk)));
    await dev.client.publishAsync(topics.upRaw(pk, dk), payload, { qos: 1 });
    return (await reply).payload;
  };
  const cborReply = async (dev: TestDevice, message: unknown) =>
    cborCodec.decode(await upRaw(dev, cborCodec.encode(message))) as { id?: unknown; code: number; message?: string };
  const binReply = async (frame: Buffer) => {
    const p = await upRaw(bin, frame);
    return p.length === 6 ? { id: p.readUInt32BE(0), code: p.readUInt16BE(4) } : { code: p.readUInt16BE(0) };
  };

  beforeAll(async () => {
    h = await startHub();
    ({ client: c, orgId } = await newTenant(h, 'raw'));
    jsonDev = (await provision(c, orgId, { productType: 'Device', deviceKeys: ['json-1'], product: { thingModel: model } })).devices[0]!;
    const cborProduct = await provision(c, orgId, {
      productType: 'Device',
      deviceKeys: ['cbor-1'],
      product: { dataFormat: 'Custom', thingModel: model },
    });
    const binProduct = await provision(c, orgId, {
      productType: 'Device',
      deviceKeys: ['bin-1'],
      product: { dataFormat: 'Custom', thingModel: model },
    });
    cborDev = cborProduct.devices[0]!;
    binDev = binProduct.devices[0]!;
    expect((await setCodec(cborProduct.productKey, { type: 'cbor' })).code).toBe(0);
    expect((await setCodec(binProduct.productKey, { type: 'binary', layout })).code).toBe(0);
    [json, cbor, bin] = await Promise.all([
      connectDevice(h.mqttUrl, jsonDev),
      connectDevice(h.mqttUrl, cborDev),
      connectDevice(h.mqttUrl, binDev),
    ]);
  });
  afterAll(async () => {
    await Promise.all([json?.end(), cbor?.end(), bin?.end()]);
    await h?.close();
  });

  it('stores a CBOR post exactly as queryLatest returns the same JSON post', async () => {
    const params = { measurepoints: { temp: 21.5, speed: 1200 }, time: T };
    expect(
      (await json.request(topics.measurepointPost(jsonDev.productKey, jsonDev.deviceKey), 'thing.measurepoint.post', params)).code,
    ).toBe(200);
    const reply = await cborReply(cbor, { id: '7', method: 'thing.measurepoint.post', params });
    expect(reply).toMatchObject({ id: '7', code: 200 });
    expect(await latest(cborDev)).toEqual(await latest(jsonDev));
    expect(await latest(cborDev)).toEqual({ temp: { value: 21.5, time: T }, speed: { value: 1200, time: T } });
  });

  it('stores a binary frame with its scale, byte order and time', async () => {
    expect(await binReply(measurepointFrame(42, 21.5, 1200, T / 1000))).toEqual({ id: 42, code: 200 });
    expect(await latest(binDev)).toEqual({ temp: { value: 21.5, time: T }, speed: { value: 1200, time: T } });
  });

  it('takes a CBOR event post through the same model checks', async () => {
    expect((await cborReply(cbor, { id: 8, method: 'thing.event.alarm.post', params: { events: { level: 3 }, time: T } })).code).toBe(200);
    expect((await cborReply(cbor, { id: 9, method: 'thing.event.alarm.post', params: { events: { level: 'high' }, time: T } })).code).toBe(
      1204,
    );
  });

  it('refuses malformed CBOR, unknown measurepoints and non-data methods, storing nothing', async () => {
    const before = await latest(cborDev);
    const broken = await upRaw(cbor, Buffer.from([0xbf, 0x61]));
    expect((cborCodec.decode(broken) as { code: number }).code).toBe(1220);
    expect((await cborReply(cbor, ['not', 'a', 'map'])).code).toBe(1220);
    expect(
      await cborReply(cbor, {
        id: '10',
        method: 'thing.measurepoint.post',
        params: { measurepoints: { temp: 99, humidity: 3 }, time: T + 5 },
      }),
    ).toMatchObject({ id: '10', code: 1204 });
    expect((await cborReply(cbor, { id: '11', method: 'thing.topo.add', params: [] })).code).toBe(1260);
    expect(await latest(cborDev)).toEqual(before);
  });

  it('refuses truncated frames, unknown frame types and oversized payloads, storing nothing', async () => {
    const before = await latest(binDev);
    expect(await binReply(measurepointFrame(43, 30, 1, T / 1000 + 9).subarray(0, 12))).toEqual({ code: 1220 });
    expect(await binReply(Buffer.from([9, 0, 1, 2]))).toEqual({ code: 1220 });
    expect(await binReply(Buffer.alloc(600 * 1024, 1))).toEqual({ code: 1008 });
    expect(await latest(binDev)).toEqual(before);
  });

  it('refuses a codec on a JSON product and a layout whose fields overlap', async () => {
    expect((await setCodec(jsonDev.productKey, { type: 'cbor' })).code).toBe(99400);
    const overlapping = {
      frames: [
        {
          method: 'thing.measurepoint.post',
          length: 4,
          fields: [
            { name: 'temp', offset: 0, type: 'uint16' },
            { name: 'speed', offset: 1, type: 'uint16' },
          ],
        },
      ],
    };
    const r = await setCodec(cborDev.productKey, { type: 'binary', layout: overlapping });
    expect(r.code).toBe(99400);
    expect(r.msg).toMatch(/overlaps/);
  });

  it('sends commands to Custom products on down_raw and reads the raw reply', async () => {
    const invoke = (d: ProvisionedDevice, serviceId: string, inputData: unknown) =>
      c.call<{ commandId: string; outputData?: unknown }>(
        'POST',
        '/connect-service/v2.1/commands',
        { action: 'invokeService', orgId, productKey: d.productKey, deviceKey: d.deviceKey, serviceId, timeout: '5' },
        { inputData },
      );

    // CBOR: the command is a CBOR map; the device answers with a CBOR map on down_raw_reply.
    const downCbor = topics.downRaw(cborDev.productKey, cborDev.deviceKey);
    const cborCmd = cbor.next((t) => t === downCbor);
    const cborResult = invoke(cborDev, 'reboot', { delay: 5 });
    const got = cborCodec.decode((await cborCmd).payload) as { id: string; method: string; params: unknown };
    expect(got).toMatchObject({ method: 'thing.service.reboot', params: { delay: 5 } });
    await cbor.client.publishAsync(topics.reply(downCbor), cborCodec.encode({ id: got.id, code: 200, data: { ok: true } }));
    expect((await cborResult).data).toMatchObject({ outputData: { ok: true } });

    // Binary: the layout's command frame; the device answers with its id and a code.
    const downBin = topics.downRaw(binDev.productKey, binDev.deviceKey);
    const binCmd = bin.next((t) => t === downBin);
    const binResult = invoke(binDev, 'setSpeed', { speed: 1500 });
    const frame = (await binCmd).payload;
    expect(frame.length).toBe(9);
    expect(frame.readUInt8(0)).toBe(0x81);
    expect(frame.readUInt32BE(5)).toBe(1500);
    const ack = Buffer.alloc(6);
    ack.writeUInt32BE(frame.readUInt32BE(1), 0);
    ack.writeUInt16BE(200, 4);
    await bin.client.publishAsync(topics.reply(downBin), ack);
    expect((await binResult).code).toBe(0);
  });

  it('the CBOR simulator device posts and answers commands', async () => {
    const [sim] = await Promise.all([
      CborDevice.connect({
        url: h.mqttUrl,
        productKey: cborDev.productKey,
        deviceKey: cborDev.deviceKey,
        deviceSecret: cborDev.secret,
        onCommand: (service, params) => ({ service, echoed: params }),
      }),
      cbor.end(), // the simulator takes over the device's session
    ]);
    try {
      expect((await sim.post({ temp: 30.25, speed: 7 }, T + 50)).code).toBe(200);
      expect(await latest(cborDev)).toEqual({ temp: { value: 30.25, time: T + 50 }, speed: { value: 7, time: T + 50 } });
      const r = await c.call<{ outputData?: unknown }>(
        'POST',
        '/connect-service/v2.1/commands',
        { action: 'invokeService', orgId, productKey: cborDev.productKey, deviceKey: cborDev.deviceKey, serviceId: 'ping', timeout: '5' },
        { inputData: { n: 1 } },
      );
      expect(r.data.outputData).toEqual({ service: 'ping', echoed: { n: 1 } });
    } finally {
      await sim.end();
    }
  });
});
