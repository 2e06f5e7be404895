import type { HookContext, PreConnectHook } from './context.js';

/** Keeps the CONNECT's ClientId and clean flag for authenticate, and drops its will. */
export function preConnectHook(ctx: HookContext): PreConnectHook {
  return (client, packet, done) => {
    ctx.connects.set(client, { clientId: packet.clientId, clean: packet.clean !== false });
    // Wills are not kept: a device's disconnect is told by the hub's own `offline` lifecycle
    // event, and nothing a client publishes is routed as if the device had sent it (docs/PROTOCOL.md §5).
    delete packet.will;
    done(null, true);
  };
}
