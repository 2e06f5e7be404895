/**
 * The per-request logger built on first use (hub/src/api/request-logger.ts): what a request logs
 * still carries its request id and goes through the hub's redaction, and a route's log level still
 * applies; a request that logs nothing builds no child logger.
 */
import { Writable } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { installEnvelopeErrors } from '../src/api/errors.js';
import { requestLoggerFactory } from '../src/api/request-logger.js';
import { redactPaths } from '../src/hub.js';

interface LogLine {
  level: number;
  reqId?: string;
  msg?: string;
  accessSecret?: string;
  step?: string;
}

function capture() {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as LogLine);
      done();
    },
  });
  const log = pino({ level: 'info', redact: { paths: redactPaths, censor: '[redacted]' } }, stream);
  return { log, lines };
}

const apps: { close(): Promise<unknown> }[] = [];
afterEach(async () => {
  for (const a of apps.splice(0)) await a.close();
});

async function server() {
  const { log, lines } = capture();
  let children = 0;
  const root: FastifyBaseLogger = new Proxy(log, {
    get(target, prop, receiver) {
      if (prop === 'child') children++;
      return Reflect.get(target, prop, receiver) as unknown;
    },
  });
  const app = Fastify({
    loggerInstance: root,
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: requestLoggerFactory,
    genReqId: (() => {
      let n = 0;
      return () => `req-${++n}`;
    })(),
  });
  installEnvelopeErrors(app);
  app.get('/quiet', async () => ({ ok: true }));
  app.get('/fails', async () => {
    throw new Error('boom');
  });
  app.get('/logs', async (req) => {
    req.log.info({ accessSecret: 'do-not-print', step: 'one' }, 'logged');
    req.log.child({ part: 'x' }).warn({ step: 'two' }, 'from a child');
    req.log.debug({ step: 'hidden' }, 'below the level');
    return { ok: true };
  });
  app.get('/verbose', { logLevel: 'debug' }, async (req) => {
    req.log.debug({ step: 'route level' }, 'debug on this route');
    return { ok: true };
  });
  await app.ready();
  apps.push(app);
  return { app, lines, children: () => children };
}

describe('request logger', () => {
  it("an unexpected error's log line carries the request id the client was given", async () => {
    const { app, lines } = await server();
    const r = await app.inject({ method: 'GET', url: '/fails' });
    const body = r.json<{ requestId: string; code: number }>();
    expect(r.statusCode).toBe(500);
    const line = lines.find((l) => l.msg === 'unexpected error');
    expect(line?.reqId).toBe(body.requestId);
    expect(line?.level).toBe(50);
  });

  it("a request's own log lines and its child's carry its id, redacted, at the logger's level", async () => {
    const { app, lines } = await server();
    await app.inject({ method: 'GET', url: '/quiet' });
    await app.inject({ method: 'GET', url: '/logs' });
    expect(lines.map((l) => [l.reqId, l.step])).toEqual([
      ['req-2', 'one'],
      ['req-2', 'two'],
    ]);
    expect(lines[0]?.accessSecret).toBe('[redacted]');
  });

  it("a route's own log level still applies", async () => {
    const { app, lines } = await server();
    await app.inject({ method: 'GET', url: '/verbose' });
    expect(lines.map((l) => [l.reqId, l.step])).toEqual([['req-1', 'route level']]);
  });

  it('a request that logs nothing builds no child logger', async () => {
    const { app, children } = await server();
    const before = children();
    for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/quiet' })).statusCode).toBe(200);
    expect(children()).toBe(before);
    await app.inject({ method: 'GET', url: '/logs' });
    expect(children()).toBeGreaterThan(before);
  });
});
