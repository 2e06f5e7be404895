import type { AuthorizePublishHook, HookContext } from './context.js';

/**
 * A device's PUBLISH is routed by the hub here (router/router.ts) and acknowledged once routed;
 * it never fans out through the broker (see keepClientPublishesLocal). Applications only read the
 * stream: what they publish goes nowhere.
 */
export function authorizePublishHook(ctx: HookContext): AuthorizePublishHook {
  return (client, packet, done) => {
    if (client && ctx.apps.has(client)) return done(null);
    const session = client ? ctx.sessions.ofClient(client) : undefined;
    if (!client || !session || session.client !== client) return done(null);
    // Devices never publish to each other: nothing a device sends is retained or forwarded.
    packet.retain = false;
    const qos = packet.qos === 0 ? 0 : 1;
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    ctx.publishesInFlight.begin(client);
    const finish = () => {
      done(null);
      ctx.publishesInFlight.end(client);
    };
    ctx.router.route(session, packet.topic, payload, qos).then(finish, (err: unknown) => {
      ctx.deps.log.error({ err, topic: packet.topic }, 'routing failed');
      finish();
    });
  };
}
