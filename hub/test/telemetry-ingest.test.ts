/** TelemetryIngest over the embedded store: what the router's acknowledgement waits for, and what the stream hears. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnosError } from '@edgehub/shared';
import type { DeviceIdentity } from '../src/sessions/sessions.js';
import { openEmbeddedTelemetryStore } from '../src/telemetry/store/embedded/store.js';
import type { TelemetryStore } from '../src/telemetry/store/port.js';
import type { StreamEvent } from '../src/telemetry/stream-events.js';
import { TelemetryIngest, startRetention } from '../src/telemetry/telemetry-ingest.js';

const T = 1_700_000_000_000;
const device: DeviceIdentity = { assetId: 'asset-1', orgId: 'org-1', productKey: 'pk', deviceKey: 'dk', productType: 'Device' };

describe('TelemetryIngest', () => {
  let dir: string;
  let store: TelemetryStore;
  const heard: StreamEvent[] = [];
  let ingest: TelemetryIngest;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'telemetry-ingest-'));
    store = await openEmbeddedTelemetryStore({ path: dir });
    ingest = new TelemetryIngest(store, { publish: (e) => heard.push(e) });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores measurepoints before it resolves, then tells the stream, resume flag included', async () => {
    heard.length = 0;
    await ingest.measurepoints(device, { temp: { value: 21.5 }, power: { value: 3, quality: 9 } }, T + 10, { resume: false });
    // resolved: the data is readable (the router's reply and PUBACK come after this point)
    expect((await store.latest([device.assetId])).get(device.assetId)).toEqual({
      temp: { value: 21.5, time: T + 10 },
      power: { value: 3, quality: 9, time: T + 10 },
    });
    await ingest.measurepoints(device, { temp: { value: 19 } }, T, { resume: true });
    expect(heard).toEqual([
      {
        type: 'measurepoints',
        orgId: 'org-1',
        assetId: 'asset-1',
        productKey: 'pk',
        deviceKey: 'dk',
        time: T + 10,
        resume: false,
        measurepoints: { temp: { value: 21.5 }, power: { value: 3, quality: 9 } },
      },
      {
        type: 'measurepoints',
        orgId: 'org-1',
        assetId: 'asset-1',
        productKey: 'pk',
        deviceKey: 'dk',
        time: T,
        resume: true,
        measurepoints: { temp: { value: 19 } },
      },
    ]);
    const latest = await ingest.latest(device.assetId);
    expect(latest?.measurepoints['temp']).toEqual({ value: 21.5, time: T + 10 });
    const history = await store.history({ assetId: device.assetId, pointIds: ['temp'], startTime: T, endTime: T + 100 });
    expect(history.items).toEqual([
      { pointId: 'temp', time: T, value: 19, resume: true },
      { pointId: 'temp', time: T + 10, value: 21.5 },
    ]);
  });

  it('stores events and connection states, streams events only', async () => {
    heard.length = 0;
    await ingest.event(device, 'alarm', { level: 2 }, T + 20);
    await ingest.connectionState(device, { isFull: true, nodes: [{ nodeId: 'n1', state: 1 }] }, T + 30);
    expect(heard).toEqual([
      {
        type: 'event',
        orgId: 'org-1',
        assetId: 'asset-1',
        productKey: 'pk',
        deviceKey: 'dk',
        time: T + 20,
        eventId: 'alarm',
        values: { level: 2 },
      },
    ]);
    const latest = await ingest.latest(device.assetId);
    expect(latest?.events).toEqual({ alarm: { values: { level: 2 }, time: T + 20 } });
    expect(latest?.connectionState).toEqual({ state: { isFull: true, nodes: [{ nodeId: 'n1', state: 1 }] }, time: T + 30 });
  });

  it('answers undefined for a device that never sent anything, and publishes nothing for an empty post', async () => {
    heard.length = 0;
    expect(await ingest.latest('never')).toBeUndefined();
    await ingest.measurepoints(device, {}, T, { resume: false });
    expect(heard).toEqual([]);
  });

  it('refuses what the store cannot keep as a model error (1204), and tells the stream nothing', async () => {
    heard.length = 0;
    const refused = await ingest.measurepoints(device, { ['x'.repeat(300)]: { value: 1 } }, T, { resume: false }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EnosError);
    expect((refused as EnosError).code).toBe(1204);
    const late = await ingest.measurepoints(device, { temp: { value: 1 } }, 9e15, { resume: false }).catch((e: unknown) => e);
    expect((late as EnosError).code).toBe(1204);
    expect(heard).toEqual([]);
  });

  it('writes a whole batch in one append, all or nothing, then streams each entry', async () => {
    heard.length = 0;
    const other: DeviceIdentity = { ...device, assetId: 'asset-2', deviceKey: 'dk2' };
    let appends = 0;
    const counted = new TelemetryIngest(
      {
        ...store,
        appendMeasurepoints: (samples) => {
          appends++;
          return store.appendMeasurepoints(samples);
        },
      },
      { publish: (e) => heard.push(e) },
    );
    const entries = Array.from({ length: 100 }, (_, i) => ({
      device: i % 2 ? other : device,
      points: { flow: { value: i }, level: { value: i * 2, quality: 1 } },
      time: T + 1000 + i,
    }));
    await counted.measurepointBatch(entries, { resume: false });
    expect(appends).toBe(1);
    expect(heard.map((e) => e.time)).toEqual(entries.map((e) => e.time));
    const latest = await store.latest([device.assetId, other.assetId], ['flow', 'level']);
    expect(latest.get(device.assetId)).toEqual({ flow: { value: 98, time: T + 1098 }, level: { value: 196, quality: 1, time: T + 1098 } });
    expect(latest.get(other.assetId)).toEqual({ flow: { value: 99, time: T + 1099 }, level: { value: 198, quality: 1, time: T + 1099 } });
    const history = await store.history({
      assetId: other.assetId,
      pointIds: ['flow'],
      startTime: T + 1000,
      endTime: T + 1100,
      limit: 1000,
    });
    expect(history.items.map((s) => s.value)).toEqual(entries.filter((_, i) => i % 2).map((e) => e.points.flow.value));

    // One entry the store cannot keep refuses the whole batch: nothing of it is stored or streamed.
    heard.length = 0;
    const bad = [
      { device, points: { flow: { value: -1 } }, time: T + 2000 },
      { device, points: { ['x'.repeat(300)]: { value: 1 } }, time: T + 2001 },
    ];
    const refused = await counted.measurepointBatch(bad, { resume: false }).catch((e: unknown) => e);
    expect((refused as EnosError).code).toBe(1204);
    expect(heard).toEqual([]);
    expect((await store.latest([device.assetId], ['flow'])).get(device.assetId)).toEqual({ flow: { value: 98, time: T + 1098 } });
  });

  it('groups the single posts of one event-loop turn into one append; a post the store refuses fails alone', async () => {
    heard.length = 0;
    const appends: number[] = [];
    const counted = new TelemetryIngest(
      {
        ...store,
        appendMeasurepoints: (samples) => {
          appends.push(samples.length);
          return store.appendMeasurepoints(samples);
        },
      },
      { publish: (e) => heard.push(e) },
    );
    const devices = Array.from({ length: 50 }, (_, i): DeviceIdentity => ({ ...device, assetId: `group-${i}`, deviceKey: `g${i}` }));
    await Promise.all(devices.map((d, i) => counted.measurepoints(d, { rpm: { value: i } }, T + 3000 + i, { resume: false })));
    expect(appends).toEqual([50]);
    // Each post resolved after its value was stored, and was streamed once.
    const latest = await store.latest(
      devices.map((d) => d.assetId),
      ['rpm'],
    );
    devices.forEach((d, i) => expect(latest.get(d.assetId)).toEqual({ rpm: { value: i, time: T + 3000 + i } }));
    expect(heard.map((e) => e.assetId)).toEqual(devices.map((d) => d.assetId));

    // A value the store refuses (undefined is no JSON value) sinks the group's append; the others are
    // then appended one by one and kept, and only the bad post fails.
    heard.length = 0;
    appends.length = 0;
    const posts = devices.slice(0, 3).map((d, i) =>
      counted.measurepoints(d, { rpm: { value: i === 1 ? undefined : 100 + i } }, T + 4000, { resume: false }).then(
        () => 'stored',
        (e: unknown) => e,
      ),
    );
    const outcome = await Promise.all(posts);
    expect(outcome[0]).toBe('stored');
    expect(outcome[1]).toBeInstanceOf(Error);
    expect(outcome[2]).toBe('stored');
    expect(appends).toEqual([3, 1, 1, 1]);
    const after = await store.latest(
      devices.slice(0, 3).map((d) => d.assetId),
      ['rpm'],
    );
    expect(after.get(devices[0]!.assetId)).toEqual({ rpm: { value: 100, time: T + 4000 } });
    expect(after.get(devices[1]!.assetId)).toEqual({ rpm: { value: 1, time: T + 3001 } });
    expect(after.get(devices[2]!.assetId)).toEqual({ rpm: { value: 102, time: T + 4000 } });
    expect(heard.map((e) => e.assetId)).toEqual([devices[0]!.assetId, devices[2]!.assetId]);
  });

  it('with a commit gap, gathers the posts of the turns until the gap has passed into one append', async () => {
    const appends: number[] = [];
    const counting = (gapMs: number) =>
      new TelemetryIngest(
        {
          ...store,
          appendMeasurepoints: (samples) => {
            appends.push(samples.length);
            return store.appendMeasurepoints(samples);
          },
        },
        { publish: () => undefined },
        undefined,
        { minGapMs: gapMs },
      );
    const devices = Array.from({ length: 8 }, (_, i): DeviceIdentity => ({ ...device, assetId: `gap-${i}`, deviceKey: `gap${i}` }));
    const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    /** Two posts per turn over four turns; resolves when all are stored. */
    const postInTurns = async (ingest: TelemetryIngest, base: number) => {
      const posts: Promise<void>[] = [];
      for (let turn = 0; turn < 4; turn++) {
        if (turn > 0) await nextTurn();
        for (const i of [2 * turn, 2 * turn + 1])
          posts.push(ingest.measurepoints(devices[i]!, { rpm: { value: base + i } }, T + base + i, { resume: false }));
      }
      await Promise.all(posts);
    };

    // No gap: a group per turn.
    await postInTurns(counting(0), 6000);
    expect(appends).toEqual([2, 2, 2, 2]);

    // A gap far longer than four turns: the first turn's group goes at once, the other three turns
    // wait for the gap and go together; right after, all four turns are within the next gap.
    appends.length = 0;
    const gapped = counting(1000);
    await postInTurns(gapped, 7000);
    expect(appends).toEqual([2, 6]);
    appends.length = 0;
    await postInTurns(gapped, 8000);
    expect(appends).toEqual([8]);
    const latest = await store.latest(
      devices.map((d) => d.assetId),
      ['rpm'],
    );
    devices.forEach((d, i) => expect(latest.get(d.assetId)).toEqual({ rpm: { value: 8000 + i, time: T + 8000 + i } }));
  });

  it('keeps the data when the stream throws: the device must not resend', async () => {
    const errors: unknown[] = [];
    const failing = new TelemetryIngest(
      store,
      {
        publish: () => {
          throw new Error('stream down');
        },
      },
      { error: (o: unknown) => errors.push(o), warn: () => undefined, info: () => undefined },
    );
    await failing.measurepoints(device, { speed: { value: 7 } }, T + 40, { resume: false });
    expect((await store.latest([device.assetId], ['speed'])).get(device.assetId)).toEqual({ speed: { value: 7, time: T + 40 } });
    expect(errors).toHaveLength(1);
  });
});

describe('startRetention', () => {
  it('prunes history older than the retention at start and on demand, keeps latest, and stops cleanly', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'telemetry-retention-'));
    const store = await openEmbeddedTelemetryStore({ path: dir });
    try {
      const now = T + 10 * 86_400_000;
      await store.appendMeasurepoints([
        { assetId: 'a', orgId: 'o', pointId: 'p', value: 1, time: T },
        { assetId: 'a', orgId: 'o', pointId: 'p', value: 2, time: now - 1000 },
      ]);
      const job = startRetention(store, { retentionMs: 86_400_000, intervalMs: 3_600_000, clock: () => now });
      // the first run starts right away; runOnce joins it or runs again
      await new Promise((r) => setTimeout(r, 50));
      await job.runOnce();
      await job.stop();
      const h = await store.history({ assetId: 'a', pointIds: ['p'], startTime: 0, endTime: now });
      expect(h.items.map((s) => s.value)).toEqual([2]);
      expect((await store.latest(['a'])).get('a')).toEqual({ p: { value: 2, time: now - 1000 } });
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
