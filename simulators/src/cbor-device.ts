/**
 * A constrained device of a Custom (raw) product that speaks CBOR (docs/PROTOCOL.md §7.1): it logs
 * in with its EnOS triple, posts measurepoints as CBOR maps on `thing/model/up_raw`, and answers
 * commands arriving as CBOR on `down_raw` with a CBOR reply on `down_raw_reply`.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { cborCodec, connectSignature, topics } from '@edgehub/shared';

export interface CborDeviceOptions {
  url: string;
  productKey: string;
  deviceKey: string;
  deviceSecret: string;
  /** Answers a command (method without the `thing.service.` prefix, params); the result becomes `data`. */
  onCommand?: (service: string, params: unknown) => unknown;
}

export interface RawReplyMessage {
  id?: unknown;
  code: number;
  data?: unknown;
  message?: string;
}

export class CborDevice {
  private seq = 0;
  private readonly pending = new Map<string, (r: RawReplyMessage) => void>();

  private constructor(
    readonly client: MqttClient,
    private readonly o: CborDeviceOptions,
  ) {
    const { productKey: pk, deviceKey: dk } = o;
    client.on('message', (topic, payload) => {
      if (topic === topics.reply(topics.upRaw(pk, dk))) {
        const r = safeDecode(payload) as RawReplyMessage | undefined;
        const id = r && typeof r.id === 'string' ? r.id : undefined;
        if (id !== undefined) {
          this.pending.get(id)?.(r!);
          this.pending.delete(id);
        }
      } else if (topic === topics.downRaw(pk, dk)) {
        const cmd = safeDecode(payload) as { id?: unknown; method?: unknown; params?: unknown } | undefined;
        if (!cmd || typeof cmd.method !== 'string') return;
        let reply: RawReplyMessage;
        try {
          reply = { id: cmd.id, code: 200, data: o.onCommand?.(cmd.method.replace(/^thing\.service\./, ''), cmd.params) ?? {} };
        } catch (err) {
          reply = { id: cmd.id, code: 2000, data: {}, message: (err as Error).message };
        }
        client.publish(topics.reply(topics.downRaw(pk, dk)), cborCodec.encode(reply));
      }
    });
  }

  static async connect(o: CborDeviceOptions): Promise<CborDevice> {
    const timestamp = String(Date.now());
    const client = mqtt.connect(o.url, {
      clientId: `${o.deviceKey}|securemode=2,signmethod=sha256,timestamp=${timestamp}|`,
      username: `${o.deviceKey}&${o.productKey}`,
      password: connectSignature(
        { clientId: o.deviceKey, deviceKey: o.deviceKey, productKey: o.productKey, timestamp },
        o.deviceSecret,
        'sha256',
      ),
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    return new CborDevice(client, o);
  }

  /** Posts measurepoints as one CBOR message and resolves with the hub's CBOR reply. */
  post(measurepoints: Record<string, unknown>, time = Date.now()): Promise<RawReplyMessage> {
    return this.send('thing.measurepoint.post', { measurepoints, time });
  }

  /** Posts without waiting for the reply (QoS 0), for load generation. */
  postNoWait(measurepoints: Record<string, unknown>, time = Date.now()): void {
    this.client.publish(
      topics.upRaw(this.o.productKey, this.o.deviceKey),
      cborCodec.encode({ id: String(++this.seq), method: 'thing.measurepoint.post', params: { measurepoints, time } }),
      { qos: 0 },
    );
  }

  send(method: string, params: unknown): Promise<RawReplyMessage> {
    const id = String(++this.seq);
    const reply = new Promise<RawReplyMessage>((resolve) => this.pending.set(id, resolve));
    this.client.publish(topics.upRaw(this.o.productKey, this.o.deviceKey), cborCodec.encode({ id, method, params }), { qos: 1 });
    return reply;
  }

  end(): Promise<void> {
    return this.client.endAsync(true);
  }
}

function safeDecode(payload: Buffer): unknown {
  try {
    return cborCodec.decode(payload);
  } catch {
    return undefined;
  }
}
