import type { ConnackPacket, Client } from 'aedes';
import type { DeviceSession } from '../../sessions/sessions.js';
import { startActivation } from '../activation.js';
import type { HookContext } from './context.js';

/**
 * Opens the device session the moment the CONNACK is written: aedes hands over packets that
 * follow it at once (before 'clientReady'), and a client like mosquitto_pub publishes right away.
 */
export function onConnackSent(ctx: HookContext): (packet: ConnackPacket, client: Client) => void {
  const { deps, lifecycle } = ctx;
  return (connackPacket, client) => {
    if (connackPacket.returnCode !== 0) return;
    const listeners = ctx.listeners();
    listeners?.authenticated(client.conn);
    if (ctx.apps.has(client)) return;
    const decision = ctx.accepted.get(client);
    if (!decision) return client.close();
    ctx.accepted.delete(client);
    const session: DeviceSession = {
      client,
      device: decision.device,
      listener: listeners?.kindOf(client.conn) ?? 'tcp',
      mutualTls: decision.certificateSerial !== undefined,
      ...(decision.certificateSerial ? { certificateSerial: decision.certificateSerial } : {}),
      compression: decision.compression,
      secureMode: decision.secureMode,
      connectedAt: deps.clock(),
      subDevices: new Map(),
    };
    const previous = lifecycle.connected(session, decision.activeTime !== undefined);
    // A second login with the same device triple takes over (Alibaba documents kick-old, §2.3).
    if (previous && previous.client !== client) {
      deps.log.info({ assetId: session.device.assetId }, 'newer login of the same device: closing the older connection');
      previous.client.close();
    }
    if (decision.activation) startActivation(session, deps.registry, ctx.router, deps.config.activation, deps.log);
  };
}
