/** The ports of the hub's listeners, as HubConfig holds them. */
export interface ListenerPorts {
  http: { port: number };
  mqtt: { port: number; tlsPort: number; wsPort: number };
  iosMdmTlsPort?: number;
}

/**
 * The operator's message for a listener whose port is taken (EADDRINUSE): which variable moves it
 * (docs/CONFIGURATION.md), instead of a stack trace. Undefined for any other error.
 */
export function portInUseMessage(err: unknown, config: ListenerPorts): string | undefined {
  const e = err as (NodeJS.ErrnoException & { port?: unknown; address?: unknown }) | null | undefined;
  if (e?.code !== 'EADDRINUSE') return undefined;
  const listeners: [variable: string, port: number][] = [
    ['HUB_HTTP_PORT', config.http.port],
    ['HUB_MQTT_PORT', config.mqtt.port],
    ['HUB_MQTTS_PORT', config.mqtt.tlsPort],
    ['HUB_MQTT_WS_PORT', config.mqtt.wsPort],
    ...(config.iosMdmTlsPort !== undefined ? [['HUB_IOS_MDM_TLS_PORT', config.iosMdmTlsPort] as [string, number]] : []),
  ];
  const port = typeof e.port === 'number' ? e.port : undefined;
  const where = port === undefined ? 'a port' : `port ${port}${typeof e.address === 'string' ? ` on ${e.address}` : ''}`;
  const named = listeners.filter(([, p]) => p === port).map(([v]) => v);
  const variables = named.length > 0 ? named : listeners.map(([v]) => v);
  return `${where} is already in use (another hub or \`npm run demo\`?): set ${variables.join(' or ')} to a free port (0 picks one)`;
}
