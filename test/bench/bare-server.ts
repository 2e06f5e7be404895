import Fastify from 'fastify';
import { ApiClient } from '@edgehub/hub';

/** A POST route's answer: fixed JSON text, or a function of the parsed body whose result fastify encodes. */
export type PostAnswer = string | ((body: unknown) => Promise<object>);

export interface BareServer {
  baseUrl: string;
  /** A client whose calls are signed exactly like the hub's; the bare server ignores the signature. */
  client: ApiClient;
  fastifyVersion: string;
  close(): Promise<void>;
}

/**
 * The peer for the device GET: a bare fastify server (no hooks, no schema, no store) with one GET
 * route at the same path returning a fixed envelope — the hub's own answer for a device, so the
 * JSON body has the same size and shape. It also answers the token call once, so the client loop
 * (signing, fetch, JSON parsing) is byte for byte the one used against the hub. `posts` adds POST
 * routes (PostAnswer).
 */
export async function startBareServer(deviceEnvelope: object, posts: Record<string, PostAnswer> = {}): Promise<BareServer> {
  const app = Fastify({ logger: false });
  // Answers to POSTs (the queryLatest peers in test/bench/telemetry-ingest.ts): a fixed, already
  // serialized text, or an object built from the request's body and encoded by fastify's default serializer.
  for (const [path, answer] of Object.entries(posts)) {
    app.post(path, async (req, reply) => (typeof answer === 'string' ? reply.type('application/json').send(answer) : answer(req.body)));
  }
  app.post('/apim-token-service/v2.0/token/get', async () => ({
    status: 0,
    msg: 'Success',
    data: { accessToken: 'bare-server-token', expire: 7200 },
  }));
  app.get('/connect-service/v2.1/devices', async () => deviceEnvelope);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') throw new Error('no address');
  const baseUrl = `http://127.0.0.1:${addr.port}`;
  const client = new ApiClient({ baseUrl, accessKey: 'bare', accessSecret: 'bare-secret' });
  await client.accessToken();
  return { baseUrl, client, fastifyVersion: app.version, close: () => app.close() };
}
