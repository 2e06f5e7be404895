import type { Client } from 'aedes';
import type { SupportedCompression } from '@edgehub/shared';

/** What the broker needs to know of a device once it is authenticated. */
export interface DeviceIdentity {
  assetId: string;
  orgId: string;
  productKey: string;
  deviceKey: string;
  productType: 'Device' | 'Gateway';
}

export type ListenerKind = 'tcp' | 'tls' | 'ws';

/** One authenticated MQTT connection of a device (a directly connected device or a gateway). */
export interface DeviceSession {
  client: Client;
  device: DeviceIdentity;
  listener: ListenerKind;
  /** The connection presented a client certificate that was verified and bound to the device. */
  mutualTls: boolean;
  /** That certificate's serial (hex), to drop the session when it is revoked. */
  certificateSerial?: string;
  /** Payload compression negotiated in the ClientId's extra info (docs/ENOS-PROTOCOL.md §2.4). */
  compression: SupportedCompression;
  secureMode: string;
  connectedAt: number;
  /** Sub-devices logged in through this (gateway) session, by `pk/dk`. */
  subDevices: Map<string, DeviceIdentity>;
}

export const deviceKeyOf = (pk: string, dk: string): string => `${pk}/${dk}`;

/**
 * Which session holds which device, in this process: direct sessions by device, and the gateway
 * session each logged-in sub-device is reached through. The broker is the only writer.
 */
export class SessionRegistry {
  private readonly byDevice = new Map<string, DeviceSession>();
  private readonly byClient = new WeakMap<Client, DeviceSession>();
  private readonly gatewayOfSub = new Map<string, DeviceSession>();

  /** Registers a new session; returns the session it replaces for the same device, if any. */
  add(session: DeviceSession): DeviceSession | undefined {
    const key = deviceKeyOf(session.device.productKey, session.device.deviceKey);
    const previous = this.byDevice.get(key);
    this.byDevice.set(key, session);
    this.byClient.set(session.client, session);
    return previous;
  }

  /** Removes the session if it is still the current one for its device. Returns whether it was. */
  remove(session: DeviceSession): boolean {
    const key = deviceKeyOf(session.device.productKey, session.device.deviceKey);
    for (const sub of session.subDevices.keys()) {
      if (this.gatewayOfSub.get(sub) === session) this.gatewayOfSub.delete(sub);
    }
    if (this.byDevice.get(key) !== session) return false;
    this.byDevice.delete(key);
    return true;
  }

  ofClient(client: Client): DeviceSession | undefined {
    return this.byClient.get(client);
  }

  ofDevice(pk: string, dk: string): DeviceSession | undefined {
    return this.byDevice.get(deviceKeyOf(pk, dk));
  }

  /** The gateway session a sub-device is logged in through. */
  gatewayOf(pk: string, dk: string): DeviceSession | undefined {
    return this.gatewayOfSub.get(deviceKeyOf(pk, dk));
  }

  /** The session that downstream messages for a device go to: its own, or its gateway's. */
  routeTo(pk: string, dk: string): DeviceSession | undefined {
    return this.ofDevice(pk, dk) ?? this.gatewayOf(pk, dk);
  }

  loginSubDevice(gateway: DeviceSession, sub: DeviceIdentity): void {
    const key = deviceKeyOf(sub.productKey, sub.deviceKey);
    const previous = this.gatewayOfSub.get(key);
    if (previous && previous !== gateway) previous.subDevices.delete(key);
    gateway.subDevices.set(key, sub);
    this.gatewayOfSub.set(key, gateway);
  }

  /** Logs a sub-device out of its gateway session; returns the session it was logged in through. */
  logoutSubDevice(pk: string, dk: string): DeviceSession | undefined {
    const key = deviceKeyOf(pk, dk);
    const gw = this.gatewayOfSub.get(key);
    if (!gw) return undefined;
    gw.subDevices.delete(key);
    this.gatewayOfSub.delete(key);
    return gw;
  }

  get size(): number {
    return this.byDevice.size;
  }

  all(): IterableIterator<DeviceSession> {
    return this.byDevice.values();
  }
}
