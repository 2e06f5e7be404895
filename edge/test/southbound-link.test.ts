/**
 * A Modbus link keeps nothing of a finished request: an edge polls each device
 * for months over one connection, so anything kept per request grows without bound. Checked with
 * real Modbus TCP (a simulated inverter on loopback) and V8's own collector: a result the link
 * still held would survive a full collection.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type RunningSimulator } from '@edgehub/simulators';
import { ModbusLink } from '../src/southbound/link.js';
import { silentServer } from './fixtures/southbound.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects twice, each after the current job: V8 keeps a WeakRef's target until its job ends. */
async function collect(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
}

describe('a Modbus link keeps nothing of finished work, and fails work the connection loses', () => {
  let inverter: RunningSimulator;
  beforeAll(async () => {
    inverter = await startSimulator({ kind: 'inverter', port: 0, unitId: 1, seed: 7 });
  });
  afterAll(async () => {
    await inverter?.stop();
  });

  it('the results of answered requests are collectable while the connection stays up', async () => {
    const link = new ModbusLink({ kind: 'tcp', host: '127.0.0.1', port: inverter.port }, { initialMs: 100, maxMs: 1_000 });
    await link.open(1_000);
    // Both the link's result and modbus-serial's own, which its transaction table would keep.
    const poll = async (): Promise<WeakRef<object>[]> => {
      const result = await link.request(1, 1_000, 'read', async (c) => ({ registers: await c.readInputRegisters(0, 6) }));
      expect(result.registers.data).toHaveLength(6);
      return [new WeakRef(result), new WeakRef(result.registers)];
    };
    const refs: WeakRef<object>[] = [];
    for (let i = 0; i < 50; i++) refs.push(...(await poll()));
    await collect();
    expect(link.isOpen).toBe(true);
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    await link.close();
  });

  it('a request in flight fails at once when the device drops the connection, not at its timeout', async () => {
    const hung = await silentServer();
    const link = new ModbusLink({ kind: 'tcp', host: '127.0.0.1', port: hung.port }, { initialMs: 100, maxMs: 1_000 });
    try {
      await link.open(1_000);
      const request = link.request(1, 10_000, 'read', (c) => c.readInputRegisters(0, 6));
      const outcome = request.then(
        () => 'answered',
        (e: unknown) => e,
      );
      await hung.close(); // the device closes its side while the request waits for an answer
      expect(await outcome).toMatchObject({ reason: 'disconnected' });
      expect(link.isOpen).toBe(false);
    } finally {
      await link.close();
      await hung.close();
    }
  });
});
