/**
 * The Modbus southbound over real Modbus TCP on loopback, against the simulated devices.
 * Expected values are decoded here by hand from the simulator's raw registers, so neither the
 * edge's codec nor the simulator's can vouch for itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyStorageMap, fanMap, inverterMap, startSimulator, type RunningSimulator } from '@edgehub/simulators';
import { createModbusPoller, SouthboundError, type ModbusPoller, type RegisterMap, type SouthDevice } from '../src/southbound/index.js';
import { close, fakeClock, Recorder, silentServer, unusedPort, until } from './fixtures/southbound.js';

// The simulators' maps are the edge's format: this is where the compiler holds them to it.
const maps: Record<'inverter' | 'fan' | 'energy-storage', RegisterMap> = {
  inverter: inverterMap,
  fan: fanMap,
  'energy-storage': energyStorageMap,
};

function tcp(id: string, port: number, map: RegisterMap, extra: Partial<SouthDevice> = {}): SouthDevice {
  return { id, transport: { kind: 'tcp', host: '127.0.0.1', port }, unitId: 1, pollIntervalMs: 100, timeoutMs: 1_000, map, ...extra };
}

const word = (hi: number, lo: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(hi, 0);
  b.writeUInt16BE(lo, 2);
  return b;
};
const i16 = (w: number) => (w >= 0x8000 ? w - 0x10000 : w);
const u32 = (hi: number, lo: number) => word(hi, lo).readUInt32BE(0);
const i32 = (hi: number, lo: number) => word(hi, lo).readInt32BE(0);
const f32 = (hi: number, lo: number) => word(hi, lo).readFloatBE(0);

describe('Modbus southbound against the simulated devices', () => {
  const clock = fakeClock();
  let inverter: RunningSimulator;
  let fan: RunningSimulator;
  let storage: RunningSimulator;
  let poller: ModbusPoller;
  let events: Recorder;

  beforeAll(async () => {
    inverter = await startSimulator({ kind: 'inverter', port: 0, unitId: 1, seed: 11, clock: clock.now });
    fan = await startSimulator({ kind: 'fan', port: 0, unitId: 2, seed: 12, clock: clock.now });
    storage = await startSimulator({ kind: 'energy-storage', port: 0, unitId: 3, seed: 13, clock: clock.now });
    poller = createModbusPoller([
      tcp('inverter', inverter.port, maps.inverter),
      tcp('fan', fan.port, maps.fan, { unitId: 2 }),
      tcp('storage', storage.port, maps['energy-storage'], { unitId: 3 }),
    ]);
    events = new Recorder(poller);
  });

  afterAll(async () => {
    await poller?.stop();
    await Promise.all([inverter, fan, storage].map((s) => s?.stop()));
  });

  it('the simulators cover every data type and word order between them', () => {
    const specs = Object.values(maps).flatMap((m) => Object.values(m.points));
    const kinds = new Set(specs.map((p) => (p.type === 'bool' ? `bool fc${p.fc}` : `${p.type}${p.wordOrder ? ` ${p.wordOrder}` : ''}`)));
    expect([...kinds].sort()).toEqual(
      ['bool fc1', 'bool fc2', 'float32 BE', 'float32 LE', 'int16', 'int32 BE', 'int32 LE', 'uint16', 'uint32 BE', 'uint32 LE'].sort(),
    );
    expect(specs.some((p) => p.scale !== undefined && p.offset !== undefined)).toBe(true);
  });

  it('decodes every type and word order, with scale and offset, as the registers hold them', async () => {
    await poller.write('fan', 'speedSetpoint', -1500);
    // 210 s in, the inverter absorbs reactive power (a negative int32) and the fan turns in reverse.
    clock.advance(210_000);
    const after = Date.now();
    const [inv, fn, st] = await Promise.all([
      events.nextReading('inverter', (r) => r.time >= after),
      events.nextReading('fan', (r) => r.time >= after),
      events.nextReading('storage', (r) => r.time >= after),
    ]);

    const ir = inverter.state.registers(4, 0, 10);
    const [limit = 0] = inverter.state.registers(3, 100, 1);
    expect(inv.values).toEqual({
      acPower: u32(ir[0]!, ir[1]!),
      reactivePower: i32(ir[3]!, ir[2]!),
      dcVoltage: expect.closeTo(ir[4]! * 0.1, 9),
      temperature: expect.closeTo(ir[5]! * 0.1 - 40, 9),
      energyTotal: expect.closeTo(u32(ir[7]!, ir[6]!) * 0.01, 9),
      energyToday: expect.closeTo(f32(ir[8]!, ir[9]!), 5),
      activePowerLimit: expect.closeTo(limit * 0.1, 9),
    });
    expect(inv.values['reactivePower']).toBeLessThan(0);
    expect(inv.values['temperature']).toBeGreaterThan(20);

    const [speed = 0] = fan.state.registers(4, 0, 1);
    const [setpoint = 0] = fan.state.registers(3, 0, 1);
    expect(fn.values).toEqual({ speed: i16(speed), speedSetpoint: -1500, running: fan.state.bits(1, 0, 1)[0] });
    expect(i16(setpoint)).toBe(-1500);
    expect(fn.values['speed']).toBeGreaterThanOrEqual(-1510);
    expect(fn.values['speed']).toBeLessThanOrEqual(-1490);

    const sr = storage.state.registers(4, 0, 4);
    expect(st.values).toEqual({
      soc: expect.closeTo(f32(sr[1]!, sr[0]!), 4),
      power: expect.closeTo(i32(sr[2]!, sr[3]!) * 0.001, 9),
      mode: storage.state.registers(3, 0, 1)[0],
      enabled: storage.state.bits(1, 0, 1)[0],
      alarm: storage.state.bits(2, 0, 1)[0],
    });
    // And the simulator's own view of itself agrees.
    for (const [sim, reading] of [
      [inverter, inv],
      [fan, fn],
      [storage, st],
    ] as const) {
      for (const [id, v] of Object.entries(sim.state.values())) {
        expect(typeof v === 'boolean' ? reading.values[id] === v : close(reading.values[id], v), `${sim.state.kind}.${id}`).toBe(true);
      }
    }
  });

  it('writes setpoints with function codes 5, 6, 15 and 16 and the device acts on them', async () => {
    await poller.write('inverter', 'activePowerLimit', 50.5); // fc 6
    expect(inverter.state.registers(3, 100, 1)).toEqual([505]);
    await poller.write('fan', 'speedSetpoint', -800); // fc 6, negative int16
    expect(fan.state.registers(3, 0, 1)).toEqual([0x10000 - 800]);
    await poller.write('fan', 'running', false); // fc 5
    expect(fan.state.bits(1, 0, 1)).toEqual([false]);
    await poller.write('storage', 'mode', 1); // fc 16
    expect(storage.state.registers(3, 0, 1)).toEqual([1]);
    await poller.write('storage', 'enabled', false); // fc 15
    expect(storage.state.bits(1, 0, 1)).toEqual([false]);

    clock.advance(60_000);
    const after = Date.now();
    const [inv, fn, st] = await Promise.all([
      events.nextReading('inverter', (r) => r.time >= after),
      events.nextReading('fan', (r) => r.time >= after),
      events.nextReading('storage', (r) => r.time >= after),
    ]);
    expect(inv.values['activePowerLimit']).toBe(50.5);
    expect(inv.values['acPower']).toBeLessThanOrEqual(5050);
    expect(fn.values).toMatchObject({ running: false, speedSetpoint: -800, speed: 0 });
    expect(st.values).toMatchObject({ mode: 1, enabled: false, power: 0 });
  });

  it.each<[string, string, string, unknown, string, RegExp]>([
    ['an unknown device', 'pump', 'speed', 1, 'unknown-device', /no southbound device pump/],
    ['an unknown point', 'fan', 'torque', 1, 'unknown-point', /fan: no measurepoint torque/],
    ['a read-only point', 'inverter', 'acPower', 1, 'not-writable', /inverter: measurepoint acPower is read-only/],
    ['a value the type cannot hold', 'inverter', 'activePowerLimit', 7000, 'out-of-range', /activePowerLimit: 7000 is out of range/],
    ['a value of the wrong kind', 'fan', 'running', 'yes', 'invalid-value', /running: expects true\/false/],
    ['a value the device refuses', 'inverter', 'activePowerLimit', 150, 'modbus-exception', /Modbus exception 3 \(illegal data value\)/],
  ])('refuses a write to %s', async (_, deviceId, pointId, value, reason, message) => {
    const before = inverter.state.registers(3, 100, 1);
    const attempt = poller.write(deviceId, pointId, value as number);
    await expect(attempt).rejects.toBeInstanceOf(SouthboundError);
    await expect(attempt).rejects.toMatchObject({ reason, message: expect.stringMatching(message) });
    expect(inverter.state.registers(3, 100, 1)).toEqual(before);
  });
});

describe('faults of one device never stall another', () => {
  const HEALTHY_MS = 50;
  const SILENT_TIMEOUT_MS = 600;
  let healthy: RunningSimulator;
  let inverter: RunningSimulator;
  let storage: RunningSimulator;
  let late: RunningSimulator | undefined;
  let silent: Awaited<ReturnType<typeof silentServer>>;
  let downPort: number;
  let poller: ModbusPoller;
  let events: Recorder;

  beforeAll(async () => {
    healthy = await startSimulator({ kind: 'fan', port: 0, unitId: 1 });
    inverter = await startSimulator({ kind: 'inverter', port: 0, unitId: 1 });
    storage = await startSimulator({ kind: 'energy-storage', port: 0, unitId: 1 });
    silent = await silentServer();
    downPort = await unusedPort();
    poller = createModbusPoller(
      [
        tcp('healthy', healthy.port, maps.fan, { pollIntervalMs: HEALTHY_MS }),
        tcp('wrong-unit', inverter.port, maps.inverter, { unitId: 7 }),
        tcp('exceptions', storage.port, { points: { ghost: { fc: 4, address: 900, type: 'uint16' } } }),
        tcp('silent', silent.port, maps.fan, { timeoutMs: SILENT_TIMEOUT_MS }),
        tcp('down', downPort, maps.fan),
      ],
      { reconnect: { initialMs: 50, maxMs: 200 }, maxConsecutiveTimeouts: 2 },
    );
    events = new Recorder(poller);
  });

  afterAll(async () => {
    await poller?.stop();
    await Promise.all([healthy, inverter, storage, late].map(async (s) => s?.stop()));
    await silent?.close();
  });

  it('reports each fault through state events while the healthy device keeps its schedule', async () => {
    const first = await events.nextReading('healthy');
    const firstIndex = events.count('healthy');

    const [wrongUnit, exceptions, timeout, down] = await Promise.all([
      events.state('wrong-unit', 'error'),
      events.state('exceptions', 'error'),
      events.state('silent', 'error'),
      events.state('down', 'disconnected'),
    ]);
    expect(wrongUnit.error).toMatch(/Modbus exception 11 \(gateway target device failed to respond\)/);
    expect(exceptions.error).toMatch(/exceptions: read fc 4 at 900 \(1\): Modbus exception 2 \(illegal data address\)/);
    expect(timeout.error).toMatch(/silent: read .*(timed out|no answer)/);
    expect(down.error).toMatch(/ECONNREFUSED/);

    // The device that was down comes up on its port and is picked up by the reconnect loop.
    late = await startSimulator({ kind: 'fan', port: downPort, unitId: 1 });
    await events.state('down', 'connected');
    await events.nextReading('down');

    // A hung peer's connection is dropped and reopened after two timeouts in a row.
    await until(() => silent.accepted() >= 2, 'the silent device to be reconnected', 5_000);

    const last = await events.nextReading('healthy');
    const between = events.count('healthy') - firstIndex;
    const elapsed = last.time - first.time;
    expect(elapsed).toBeGreaterThan(2 * SILENT_TIMEOUT_MS);
    // On schedule: at least half the nominal rate, and never a gap as long as a timeout.
    expect(between).toBeGreaterThanOrEqual(Math.floor(elapsed / HEALTHY_MS / 2));
    const times = events.readings.filter((r) => r.deviceId === 'healthy').map((r) => r.time);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    expect(Math.max(...gaps)).toBeLessThan(SILENT_TIMEOUT_MS / 2);
    // Nothing was ever read from the faulty devices.
    expect(events.count('wrong-unit') + events.count('exceptions') + events.count('silent')).toBe(0);

    expect(poller.status()).toEqual([
      expect.objectContaining({ deviceId: 'healthy', state: 'connected', lastReadingAt: expect.any(Number) }),
      expect.objectContaining({ deviceId: 'wrong-unit', state: 'error' }),
      expect.objectContaining({ deviceId: 'exceptions', state: 'error' }),
      expect.objectContaining({ deviceId: 'silent', state: 'error' }),
      expect.objectContaining({ deviceId: 'down', state: 'connected' }),
    ]);
  });

  it('stop() closes every connection and refuses further writes', async () => {
    await poller.stop();
    const seen = events.readings.length + events.states.length;
    await until(
      () => [healthy, inverter, storage, late].every((s) => s === undefined || s.state.connections === 0) && silent.connections() === 0,
      'every device connection to close',
    );
    await expect(poller.write('healthy', 'running', true)).rejects.toMatchObject({ reason: 'stopped' });
    expect(events.readings.length + events.states.length).toBe(seen);
  });
});

describe('Modbus RTU', () => {
  // There is no serial hardware here: this covers configuration and the failure path of the same
  // link code TCP uses; framing over a real line is modbus-serial's buffered RTU port.
  it('opens the serial line through the same link, and reports a missing port as disconnected', async () => {
    const rtu = { kind: 'rtu', path: '/dev/ttyEDGEHUB-none', baudRate: 9600, parity: 'even' } as const;
    const poller = createModbusPoller(
      [
        { id: 'meter-1', transport: rtu, unitId: 1, pollIntervalMs: 100, timeoutMs: 200, map: maps.fan },
        { id: 'meter-2', transport: rtu, unitId: 2, pollIntervalMs: 100, timeoutMs: 200, map: maps.fan },
      ],
      { reconnect: { initialMs: 50, maxMs: 100 } },
    );
    const events = new Recorder(poller);
    try {
      const [a, b] = await Promise.all([events.state('meter-1', 'disconnected'), events.state('meter-2', 'disconnected')]);
      expect(a.error).toMatch(/rtu:\/dev\/ttyEDGEHUB-none@9600/);
      expect(b.error).toBeDefined();
      await expect(poller.write('meter-1', 'running', true)).rejects.toMatchObject({ reason: 'disconnected' });
    } finally {
      await poller.stop();
    }
  });

  it('refuses two devices on one serial line with different line settings', () => {
    const device = (id: string, baudRate: number): SouthDevice => ({
      id,
      transport: { kind: 'rtu', path: '/dev/ttyS9', baudRate },
      unitId: 1,
      pollIntervalMs: 1000,
      timeoutMs: 500,
      map: maps.fan,
    });
    expect(() => createModbusPoller([device('a', 9600), device('b', 19200)])).toThrow(
      /devices\[1\]\.transport: \/dev\/ttyS9 is already configured/,
    );
  });
});

describe('southbound configuration', () => {
  it.each<[string, (d: SouthDevice) => unknown, RegExp]>([
    ['a duplicate id', (d) => ({ ...d, id: 'a' }), /devices\[1\]\.id: duplicate device id a/],
    [
      'a broken register map',
      (d) => ({ ...d, map: { points: { x: { fc: 3, address: 0, type: 'bool' } } } }),
      /devices\[1\]\.map\.points\.x\.type/,
    ],
    ['a unit id out of range', (d) => ({ ...d, unitId: 300 }), /devices\[1\]\.unitId/],
    ['a zero poll interval', (d) => ({ ...d, pollIntervalMs: 0 }), /devices\[1\]\.pollIntervalMs/],
    ['an unknown transport', (d) => ({ ...d, transport: { kind: 'udp' } }), /devices\[1\]\.transport\.kind: must be tcp or rtu/],
  ])('refuses %s, naming the field', (_, change, message) => {
    const a = tcp('a', 1502, maps.fan);
    expect(() => createModbusPoller([a, change(tcp('b', 1503, maps.fan)) as SouthDevice])).toThrow(message);
  });
});
