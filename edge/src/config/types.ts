export interface RegisterPoint {
  fc: 1 | 2 | 3 | 4;
  address: number;
  type: 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
  wordOrder?: 'BE' | 'LE';
  scale?: number;
  offset?: number;
  writable?: { fc: 5 | 6 | 15 | 16 };
}

export interface DeviceModel {
  points: Record<string, RegisterPoint>;
}

export type Transport =
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'rtu'; path: string; baudRate: number; parity?: 'none' | 'even' | 'odd'; dataBits?: 7 | 8; stopBits?: 1 | 2 };

export interface SouthboundDeviceConfig {
  deviceKey: string;
  name?: string;
  model: string;
  transport: Transport;
  unitId?: number;
  pollIntervalMs?: number;
  timeoutMs?: number;
}

/** The validated config with every secret read from its file. */
export interface EdgeConfig {
  configDir: string;
  hub: { url: string; mqttUrl: string; mqttsUrl?: string; caFile?: string };
  identity: {
    orgId: string;
    serviceAccount: { accessKey: string; accessSecret: string };
    gateway: { productKey: string; deviceKey: string; deviceSecret: string };
    subDeviceProductKey: string;
  };
  /** dynamic: create missing sub-devices over REST; mqtt: over thing.device.register; static: bind existing ones. */
  registration: 'dynamic' | 'static' | 'mqtt';
  certificate: { mode: 'off' | 'auto' | 'required'; dir: string; validDay?: number; issueAuthority?: 'RSA' | 'ECC' };
  /** reconnect*: wait before reconnecting to an unreachable device, doubling per failure. */
  southbound: { models: Record<string, DeviceModel>; devices: SouthboundDeviceConfig[]; reconnectMinMs: number; reconnectMaxMs: number };
  buffer: { dir: string; maxBytes: number; maxAgeMs: number; dropPolicy: 'drop-oldest' | 'refuse-newest' };
  /** Sub-devices that speak MQTT themselves connect here (EnOS CONNECT with their own triple). */
  localMqtt?: { host: string; port: number; devices: { deviceKey: string; name?: string }[] };
  /** token: the Bearer token every request must carry (configCenter.token/tokenFile, else the gateway's secret). */
  configCenter: { host: string; port: number; token: string };
  uplink: { keepalive: number; reconnectMinMs: number; reconnectMaxMs: number; replyTimeoutMs: number; maxOnlineSubDevices: number };
}

/** A secret given inline or as a file beside the config (`<name>` or `<name>File`). */
type SecretField<K extends string> = { [P in K]?: string } & { [P in `${K}File`]?: string };

/** The config file as the schema admits it (edge/src/config/schema.ts), before defaults and secret files. */
export interface EdgeConfigFile {
  hub: EdgeConfig['hub'];
  identity: {
    orgId: string;
    serviceAccount: { accessKey: string } & SecretField<'accessSecret'>;
    gateway: { productKey: string; deviceKey: string } & SecretField<'deviceSecret'>;
    subDeviceProductKey: string;
  };
  registration?: EdgeConfig['registration'];
  certificate?: Omit<EdgeConfig['certificate'], 'dir'> & { dir: string };
  southbound: Pick<EdgeConfig['southbound'], 'models' | 'devices'> &
    Partial<Pick<EdgeConfig['southbound'], 'reconnectMinMs' | 'reconnectMaxMs'>>;
  buffer?: Partial<EdgeConfig['buffer']>;
  localMqtt?: Partial<NonNullable<EdgeConfig['localMqtt']>> & Pick<NonNullable<EdgeConfig['localMqtt']>, 'devices'>;
  configCenter?: { host?: string; port?: number } & SecretField<'token'>;
  uplink?: Partial<EdgeConfig['uplink']>;
}
