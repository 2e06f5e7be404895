import { isIP, connect as tcpConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import mqtt, { MqttClient, type IClientOptions } from 'mqtt';

/** TLS material and checks for an `mqtts://` or `wss://` uplink. */
export type UplinkTls = Pick<IClientOptions, 'ca' | 'key' | 'cert' | 'rejectUnauthorized' | 'servername'>;

/**
 * Opens the uplink's MQTT client on `url`. For `mqtt://` and `mqtts://` the socket is made here
 * and handed to mqtt.js's client; `ws://` and `wss://` go through mqtt.js's own `connect`. That
 * `connect` loads every transport it knows on its first call, whatever the URL asks for (the
 * WebSocket library, a SOCKS client and its address parser): about 4.6 MiB of the edge's resident
 * set for code that a TCP or TLS uplink never runs (docs/BENCHMARKS.md, "Edge runtime").
 */
export function openMqttClient(url: string, options: IClientOptions, tls?: UplinkTls): MqttClient {
  const u = new URL(url);
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') return mqtt.connect(url, { ...options, ...tls });
  const secure = u.protocol === 'mqtts:';
  // A literal IPv6 address comes bracketed in a URL; sockets want it bare.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  const port = u.port ? Number(u.port) : secure ? 8883 : 1883;
  // As mqtt.js does for its own TLS sockets: the host name goes in the handshake (SNI), which a TLS
  // proxy in front of the hub may route by. An IP address is never sent there.
  const servername = tls?.servername ?? (isIP(host) === 0 ? host : undefined);
  const open = secure ? () => tlsConnect({ ...tls, host, port, servername }) : () => tcpConnect({ host, port });
  // The client reads its keepalive, clean session and so on from these options; host and port are here only for its logs.
  return new MqttClient(open, { ...options, host, port, protocol: secure ? 'mqtts' : 'mqtt' });
}
