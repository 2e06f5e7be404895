/**
 * An application's stream connection: the packets aedes delivers in one event-loop turn (each in a
 * `setImmediate` of its own, each corked and uncorked on the next tick by mqtt-packet) leave in
 * one system write, in order, and nothing stays buffered, `end()` included.
 */
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from '../src/stream/coalesced-writes.js';

const open: Socket[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.destroy();
});

/** A real loopback connection: the sending socket, and everything the other end receives. */
async function pair(): Promise<{ sender: Socket; received: () => Buffer; closed: Promise<unknown> }> {
  const chunks: Buffer[] = [];
  const server = createServer();
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const sender = connect((server.address() as AddressInfo).port, '127.0.0.1');
  open.push(sender);
  const [receiver] = await accepted;
  open.push(receiver);
  receiver.on('data', (c: Buffer) => chunks.push(c));
  const closed = once(receiver, 'end');
  if (sender.connecting) await once(sender, 'connect');
  server.close();
  return { sender, received: () => Buffer.concat(chunks), closed };
}

/** Counts the socket's system writes (Node's `_write` / `_writev`, each one `write`/`writev` call). */
function countWrites(s: Socket): () => number {
  let n = 0;
  const inner = s as unknown as { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  const w = inner._write.bind(s);
  const wv = inner._writev.bind(s);
  inner._write = (...a) => (n++, w(...a));
  inner._writev = (...a) => (n++, wv(...a));
  return () => n;
}

const publish = (i: number) => ({
  cmd: 'publish' as const,
  topic: `org/o1/devices/pk/dk${i}/measurepoints`,
  payload: Buffer.from(JSON.stringify({ seq: i })),
  qos: 0 as const,
  retain: false,
  dup: false,
});

/** Eight packets delivered as aedes delivers QoS 0: each written from its own setImmediate. */
async function deliverEight(sender: Socket): Promise<void> {
  await new Promise<void>((resolve) => {
    for (let i = 0; i < 8; i++) setImmediate(() => (mqttPacket.writeToStream(publish(i), sender), i === 7 && resolve()));
  });
  // Two more turns: the coalesced flush runs in the next one.
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
}

const expected = Buffer.concat(Array.from({ length: 8 }, (_, i) => mqttPacket.generate(publish(i))));

describe('coalesced writes of a stream connection', () => {
  it('sends what one turn delivered in one write, in order', async () => {
    const plain = await pair();
    const plainWrites = countWrites(plain.sender);
    await deliverEight(plain.sender);
    // Without it, one write per packet.
    expect(plainWrites()).toBe(8);

    const { sender, received } = await pair();
    coalesceWrites(sender);
    const writes = countWrites(sender);
    await deliverEight(sender);
    expect(writes()).toBe(1);
    while (received().length < expected.length) await new Promise((r) => setImmediate(r));
    expect(received().equals(expected)).toBe(true);
  });

  it('leaves nothing buffered when the connection ends right after a delivery', async () => {
    const { sender, received, closed } = await pair();
    coalesceWrites(sender);
    for (let i = 0; i < 8; i++) mqttPacket.writeToStream(publish(i), sender);
    sender.end();
    await once(sender, 'finish');
    await closed;
    expect(received().equals(expected)).toBe(true);
    expect(sender.writableLength).toBe(0);
  });
});
