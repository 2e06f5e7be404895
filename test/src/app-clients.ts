import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { signedHeaders } from '@edgehub/shared';
import type { ApiClient } from '@edgehub/hub';

/** An application on the MQTT stream: ClientId `{cid}|authtype=app,timestamp=…|`, username accessKey. */
export async function connectApp(
  url: string,
  accessKey: string,
  accessSecret: string,
  cid = 'app',
  ts = String(Date.now()),
): Promise<MqttClient> {
  const client = mqtt.connect(url, {
    clientId: `${cid}|authtype=app,timestamp=${ts}|`,
    username: accessKey,
    password: createHash('sha256')
      .update(accessKey + ts + accessSecret, 'utf8')
      .digest('hex'),
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

export interface SseEvent {
  event: string;
  data: any;
}

/** A signed Server-Sent Events reader (fetch + the apim headers; EventSource cannot set headers). */
export async function openSse(client: ApiClient, baseUrl: string, accessSecret: string, query: Record<string, string>) {
  const url = new URL('/stream-service/v1/events', baseUrl);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const token = await client.accessToken();
  const abort = new AbortController();
  const res = await fetch(url, { headers: signedHeaders(token, url, undefined, accessSecret), signal: abort.signal });
  const events: SseEvent[] = [];
  const waiters: { match: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
  if (res.ok && res.body) {
    void (async () => {
      const decoder = new TextDecoder();
      let buf = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buf += decoder.decode(chunk, { stream: true });
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (!ev || data === undefined) continue;
            const e = { event: ev, data: JSON.parse(data) };
            const w = waiters.findIndex((x) => x.match(e));
            if (w >= 0) waiters.splice(w, 1)[0]!.resolve(e);
            else events.push(e);
          }
        }
      } catch {
        // aborted
      }
    })();
  }
  return {
    status: res.status,
    body: res.ok ? undefined : await res.json(),
    events,
    next(match: (e: SseEvent) => boolean, timeoutMs = 5000): Promise<SseEvent> {
      const i = events.findIndex(match);
      if (i >= 0) return Promise.resolve(events.splice(i, 1)[0]!);
      return new Promise((resolve, reject) => {
        const w = { match, resolve: (e: SseEvent) => (clearTimeout(t), resolve(e)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no SSE event within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    close: () => abort.abort(),
  };
}
