/**
 * The simulated devices seen by a Modbus master that is not the edge: modbus-serial's client.
 * A fake clock makes every served value predictable.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import modbusSerial from 'modbus-serial';
import { afterEach, describe, expect, it } from 'vitest';
import { energyStorageMap, fanMap, inverterMap, models, startSimulator, type RunningSimulator, type SimulatorKind } from '../src/index.js';

type Client = InstanceType<typeof modbusSerial.default>;

const started: Array<{ sim: RunningSimulator; client?: Client }> = [];
afterEach(async () => {
  for (const { sim, client } of started.splice(0)) {
    client?.destroy(() => undefined);
    await sim.stop();
  }
});

function fakeClock(start = Date.parse('2025-06-01T10:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

async function device(kind: SimulatorKind, opts: { seed?: number; clock?: () => number; unitId?: number } = {}) {
  const sim = await startSimulator({ kind, port: 0, host: '127.0.0.1', unitId: 1, ...opts });
  const client = new modbusSerial.default();
  await client.connectTCP('127.0.0.1', { port: sim.port });
  client.setID(opts.unitId ?? 1);
  client.setTimeout(2_000);
  started.push({ sim, client });
  return { sim, client };
}

const f32 = (hi: number, lo: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(hi, 0);
  b.writeUInt16BE(lo, 2);
  return b.readFloatBE(0);
};

describe('simulated devices', () => {
  it.each(['inverter', 'fan', 'energy-storage'] as const)('the %s serves every point of its map over Modbus TCP', async (kind) => {
    const clock = fakeClock();
    const { sim, client } = await device(kind, { clock: clock.now });
    clock.advance(42_000);
    for (const [id, p] of Object.entries(models[kind].map.points)) {
      if (p.type === 'bool') {
        const read = p.fc === 1 ? await client.readCoils(p.address, 1) : await client.readDiscreteInputs(p.address, 1);
        expect(read.data[0], id).toBe(sim.state.value(id));
      } else {
        const width = p.type.endsWith('32') ? 2 : 1;
        const read = p.fc === 3 ? await client.readHoldingRegisters(p.address, width) : await client.readInputRegisters(p.address, width);
        expect(read.data, id).toEqual(sim.state.registers(p.fc as 3 | 4, p.address, width));
      }
    }
  });

  it('serves plausible values: an inverter in daylight, a fan at its setpoint, a battery discharging', async () => {
    const clock = fakeClock();
    const inverter = await device('inverter', { clock: clock.now, seed: 7 });
    const fan = await device('fan', { clock: clock.now, seed: 7 });
    const storage = await device('energy-storage', { clock: clock.now, seed: 7 });
    clock.advance(30_000);

    const inv = inverter.sim.state.values();
    expect(inv['acPower']).toBeGreaterThanOrEqual(1_500);
    expect(inv['acPower']).toBeLessThanOrEqual(10_000);
    expect(inv['dcVoltage']).toBeGreaterThan(570);
    expect(inv['dcVoltage']).toBeLessThan(650);
    expect(inv['temperature']).toBeGreaterThan(20);
    expect(inv['temperature']).toBeLessThan(50);
    expect(inv['energyTotal']).toBeGreaterThanOrEqual(12_000);
    expect(inv['activePowerLimit']).toBeCloseTo(100, 6);

    expect(fan.sim.state.values()).toMatchObject({ speedSetpoint: 1200, running: true });
    expect(Math.abs(Number(fan.sim.state.value('speed')) - 1200)).toBeLessThanOrEqual(3);

    const st = storage.sim.state.values();
    expect(st['soc']).toBeGreaterThan(49);
    expect(st['soc']).toBeLessThan(60);
    expect(st['power']).toBeGreaterThanOrEqual(4.8);
    expect(st['power']).toBeLessThanOrEqual(5.2);
    expect(st).toMatchObject({ mode: 2, enabled: true, alarm: false });
    // The state of charge on the wire is a float32, low word first.
    const soc = await storage.client.readInputRegisters(0, 2);
    expect(f32(soc.data[1]!, soc.data[0]!)).toBe(st['soc']);
  });

  it('changes over time, the same way for the same seed and clock', async () => {
    const clock = fakeClock();
    const a = await device('inverter', { clock: clock.now, seed: 3 });
    const b = await device('inverter', { clock: clock.now, seed: 3 });
    const other = await device('inverter', { clock: clock.now, seed: 4 });
    const samples: Array<Record<string, unknown>> = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(60_000);
      const va = a.sim.state.values();
      expect(b.sim.state.values()).toEqual(va);
      samples.push(va);
    }
    expect(other.sim.state.values()).not.toEqual(samples.at(-1));
    expect(new Set(samples.map((s) => s['acPower'])).size).toBeGreaterThan(1);
    const energy = samples.map((s) => Number(s['energyToday']));
    expect(energy).toEqual([...energy].sort((x, y) => x - y));
    // ~5 minutes at 1.5–10 kW
    expect(energy.at(-1)).toBeGreaterThan(0.1);
    expect(energy.at(-1)).toBeLessThan(1);
  });

  it('the inverter reflects an active-power limit written with fc 6', async () => {
    const clock = fakeClock();
    const { sim, client } = await device('inverter', { clock: clock.now });
    await client.writeRegister(100, 300);
    expect(sim.state.registers(3, 100, 1)).toEqual([300]);
    clock.advance(10_000);
    expect(sim.state.value('activePowerLimit')).toBeCloseTo(30, 9);
    expect(sim.state.value('acPower')).toBeLessThanOrEqual(3_000);
  });

  it('the fan follows a written speed setpoint (fc 6) and stops when its running coil is cleared (fc 5)', async () => {
    const clock = fakeClock();
    const { sim, client } = await device('fan', { clock: clock.now });
    await client.writeRegister(0, 0x10000 - 800);
    expect(sim.state.value('speedSetpoint')).toBe(-800);
    clock.advance(30_000);
    expect(Math.abs(Number(sim.state.value('speed')) + 800)).toBeLessThanOrEqual(3);
    const speed = await client.readInputRegisters(0, 1);
    expect(speed.data[0]).toBeGreaterThan(0x8000); // negative int16 on the wire

    await client.writeCoil(0, false);
    expect(sim.state.bits(1, 0, 1)).toEqual([false]);
    clock.advance(60_000);
    expect(sim.state.value('speed')).toBe(0);
  });

  it('the battery charges on mode 1 (fc 16), cuts out with its contactor (fc 15), and raises the alarm at its limit', async () => {
    const clock = fakeClock();
    const { sim, client } = await device('energy-storage', { clock: clock.now });
    await client.writeRegisters(0, [1]);
    clock.advance(1_000);
    expect(sim.state.value('mode')).toBe(1);
    expect(sim.state.value('power')).toBeLessThan(-4.7);

    await client.writeCoils(0, [false]);
    clock.advance(1_000);
    expect(sim.state.values()).toMatchObject({ enabled: false, power: 0 });

    await client.writeCoils(0, [true]);
    await client.writeRegisters(0, [2]);
    clock.advance(12 * 3_600_000);
    expect(sim.state.values()).toMatchObject({ soc: 5, power: 0, alarm: true });
    expect((await client.readDiscreteInputs(0, 1)).data[0]).toBe(true);
  });

  it.each<[string, (c: Client) => Promise<unknown>, number]>([
    ['a write to a read-only register', (c) => c.writeRegister(0, 1), 2],
    ['a write to a register no point occupies', (c) => c.writeRegister(101, 1), 2],
    ['a setpoint outside what the device accepts', (c) => c.writeRegister(100, 1500), 3],
    ['a read past the end of the map', (c) => c.readInputRegisters(9, 2), 2],
    ['a function code the device lacks', (c) => c.readDeviceIdentification(1, 0), 1],
  ])('the inverter answers %s with exception %i and changes nothing', async (_, request, code) => {
    const { sim, client } = await device('inverter', { clock: fakeClock().now });
    const before = sim.state.registers(3, 100, 1);
    await expect(request(client)).rejects.toMatchObject({ modbusCode: code });
    expect(sim.state.registers(3, 100, 1)).toEqual(before);
  });

  it('answers another unit id with exception 11, as a Modbus TCP gateway does', async () => {
    const { client } = await device('fan', { unitId: 1 });
    client.setID(9);
    await expect(client.readInputRegisters(0, 1)).rejects.toMatchObject({ modbusCode: 11 });
  });

  it('stop() closes the server and its connections', async () => {
    const { sim, client } = await device('fan');
    expect(sim.state.connections).toBe(1);
    const closed = new Promise<void>((resolve) => client.on('close', () => resolve()));
    await sim.stop();
    await closed;
    expect(sim.state.connections).toBe(0);
    // The port is free again.
    const again = await startSimulator({ kind: 'fan', port: sim.port });
    started.push({ sim: again });
    expect(again.port).toBe(sim.port);
  });
});

describe('simulators CLI', () => {
  it('prints the register maps in the edge format', async () => {
    const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', main, '--print-maps'], { timeout: 20_000 });
    expect(JSON.parse(stdout)).toEqual({ inverter: inverterMap, fan: fanMap, 'energy-storage': energyStorageMap });
  });
});
