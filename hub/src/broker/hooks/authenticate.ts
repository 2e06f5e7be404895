import type { TLSSocket } from 'node:tls';
import { parseClientId } from '@edgehub/shared';
import type { AuthenticateError, Client } from 'aedes';
import { authenticateApp } from '../../stream/app-auth.js';
import { coalesceWrites } from '../../stream/coalesced-writes.js';
import { authenticateConnect, connack } from '../authenticate.js';
import { normalizeSerial, type PresentedCertificate } from '../client-certificates.js';
import { appSessionId, deviceSessionId } from '../session-identity.js';
import type { AuthenticateHook, HookContext } from './context.js';

type Done = Parameters<AuthenticateHook>[3];

const refusal = (reason: string, returnCode: number): AuthenticateError =>
  Object.assign<Error, { returnCode: AuthenticateError['returnCode'] }>(new Error(reason), { returnCode });

/**
 * The CONNECT check: an application logging in to the stream (`authtype=app` in the ClientId), or a
 * device with its EnOS signature (broker/authenticate.ts). The session key is set from who
 * authenticated, never from the ClientId text (docs/SECURITY.md, "Identity and sessions").
 */
export function authenticateHook(ctx: HookContext): AuthenticateHook {
  return (client, username, password, done) => {
    const raw = ctx.connects.get(client) ?? { clientId: client.id, clean: true };
    // A device's ClientId is parsed once, by the CONNECT check: only one that names an authtype
    // (keys are case-insensitive) can be an application's.
    if (/authtype/i.test(raw.clientId) && parseClientId(raw.clientId).ext['authtype'] === 'app')
      authenticateApplication(
        ctx,
        client,
        raw.clientId,
        { username, password, timestamp: parseClientId(raw.clientId).ext['timestamp'] },
        done,
      );
    else authenticateDevice(ctx, client, raw, { username, password }, done);
  };
}

interface Login {
  username: string | undefined;
  password: Buffer | undefined;
  timestamp?: string | undefined;
}

function authenticateApplication(ctx: HookContext, client: Client, clientId: string, login: Login, done: Done): void {
  const { deps } = ctx;
  const listener = ctx.listeners()?.kindOf(client.conn) ?? 'tcp';
  authenticateApp({ ...login, timestamp: login.timestamp }, deps.registry, deps.clock(), deps.appLoginWindowSeconds, deps.loginLedger).then(
    (d) => {
      if (!d.ok) {
        deps.log.info({ username: login.username, listener, returnCode: d.returnCode, reason: d.reason }, 'application connection refused');
        deps.metrics?.refusedConnects.inc({ return_code: String(d.returnCode) });
        return done(refusal(d.reason, d.returnCode), false);
      }
      ctx.apps.set(client, d.app);
      client.id = appSessionId(d.app.appId, parseClientId(clientId).clientId);
      // An application receives a stream: what one turn delivers leaves in one write.
      coalesceWrites(client.conn);
      done(null, true);
    },
    (err: unknown) => {
      deps.log.error({ err }, 'application authentication failed unexpectedly');
      done(refusal('server unavailable', connack.serverUnavailable), false);
    },
  );
}

function authenticateDevice(ctx: HookContext, client: Client, raw: { clientId: string; clean: boolean }, login: Login, done: Done): void {
  const { deps } = ctx;
  const listeners = ctx.listeners();
  const listener = listeners?.kindOf(client.conn) ?? 'tcp';
  const certificate = presentedCertificate(client.conn);
  const { username, password } = login;
  authenticateConnect(
    { clientId: raw.clientId, clean: raw.clean, username, password, listener, ...(certificate ? { certificate } : {}) },
    deps.registry,
    ctx.throttle,
    deps.clock(),
    deps.clientCertificates,
  ).then(
    (decision) => {
      if (!decision.ok) {
        const remote = listeners?.remoteOf(client.conn);
        deps.log.info({ username, listener, remote, returnCode: decision.returnCode, reason: decision.reason }, 'connection refused');
        deps.metrics?.refusedConnects.inc({ return_code: String(decision.returnCode) });
        return done(refusal(decision.reason, decision.returnCode), false);
      }
      ctx.accepted.set(client, decision);
      // Sessions, persistent state and takeover are keyed on who authenticated, not on the
      // ClientId text: set before aedes registers the client (docs/SECURITY.md).
      client.id = deviceSessionId(decision.device.productKey, decision.device.deviceKey);
      done(null, true);
    },
    (err: unknown) => {
      deps.log.error({ err, username }, 'authentication failed unexpectedly');
      done(refusal('server unavailable', connack.serverUnavailable), false);
    },
  );
}

/** The client certificate of a TLS connection, if one was presented. */
function presentedCertificate(conn: unknown): PresentedCertificate | undefined {
  const socket = conn as Partial<TLSSocket>;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate();
  if (!peer || !peer.serialNumber) return undefined;
  return { serialHex: normalizeSerial(peer.serialNumber), trusted: socket.authorized === true };
}
