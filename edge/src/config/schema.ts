/**
 * The edge's config file: the burned-in identity (service account, the gateway's own triple, the
 * sub-devices' productKey, the orgId) and the southbound map. Unknown keys are errors.
 */
const key = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_\\-.]+$' } as const;
/** A secret given inline or by file; exactly one of the two is checked in load.ts (naming both keys). */
const secretRef = (name: string) => ({
  type: 'object',
  additionalProperties: false,
  properties: { [name]: { type: 'string', minLength: 1 }, [`${name}File`]: { type: 'string', minLength: 1 } },
});

const registerPoint = {
  type: 'object',
  additionalProperties: false,
  required: ['fc', 'address', 'type'],
  properties: {
    fc: { enum: [1, 2, 3, 4] },
    address: { type: 'integer', minimum: 0, maximum: 65535 },
    type: { enum: ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32'] },
    wordOrder: { enum: ['BE', 'LE'] },
    scale: { type: 'number' },
    offset: { type: 'number' },
    writable: { type: 'object', additionalProperties: false, required: ['fc'], properties: { fc: { enum: [5, 6, 15, 16] } } },
  },
} as const;

/**
 * The transport is chosen by `kind`; the branch for that kind alone is checked, so an error names
 * the key that is wrong (`transport.baudRate must be integer`), not "must match one schema".
 */
const tcpTransport = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'host', 'port'],
  properties: { kind: { const: 'tcp' }, host: { type: 'string', minLength: 1 }, port: { type: 'integer', minimum: 1, maximum: 65535 } },
} as const;
const rtuTransport = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'path', 'baudRate'],
  properties: {
    kind: { const: 'rtu' },
    path: { type: 'string', minLength: 1 },
    baudRate: { type: 'integer', minimum: 300, maximum: 4_000_000 },
    parity: { enum: ['none', 'even', 'odd'] },
    dataBits: { enum: [7, 8] },
    stopBits: { enum: [1, 2] },
  },
} as const;
const transport = {
  type: 'object',
  required: ['kind'],
  properties: { kind: { enum: ['tcp', 'rtu'] } },
  allOf: [
    { if: { properties: { kind: { const: 'tcp' } } }, then: tcpTransport },
    { if: { properties: { kind: { const: 'rtu' } } }, then: rtuTransport },
  ],
} as const;

/** One southbound device, in the config file and in a config center bind (`POST /subdevices`). */
export const southboundDeviceSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['deviceKey', 'model', 'transport'],
  properties: {
    deviceKey: key,
    name: { type: 'string', minLength: 1, maxLength: 128 },
    model: { type: 'string', minLength: 1 },
    transport,
    unitId: { type: 'integer', minimum: 0, maximum: 255 },
    pollIntervalMs: { type: 'integer', minimum: 100, maximum: 86_400_000 },
    timeoutMs: { type: 'integer', minimum: 50, maximum: 60_000 },
  },
} as const;

export const edgeConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['hub', 'identity', 'southbound'],
  properties: {
    hub: {
      type: 'object',
      additionalProperties: false,
      required: ['url', 'mqttUrl'],
      properties: {
        url: { type: 'string', pattern: '^https?://' },
        mqttUrl: { type: 'string', pattern: '^(mqtt|mqtts|ws|wss)://' },
        mqttsUrl: { type: 'string', pattern: '^mqtts://' },
        caFile: { type: 'string', minLength: 1 },
      },
    },
    identity: {
      type: 'object',
      additionalProperties: false,
      required: ['orgId', 'serviceAccount', 'gateway', 'subDeviceProductKey'],
      properties: {
        orgId: { type: 'string', minLength: 1, maxLength: 64 },
        serviceAccount: {
          ...secretRef('accessSecret'),
          required: ['accessKey'],
          properties: { accessKey: { type: 'string', minLength: 1 }, ...secretRef('accessSecret').properties },
        },
        gateway: {
          ...secretRef('deviceSecret'),
          required: ['productKey', 'deviceKey'],
          properties: { productKey: key, deviceKey: key, ...secretRef('deviceSecret').properties },
        },
        subDeviceProductKey: key,
      },
    },
    registration: { enum: ['dynamic', 'static', 'mqtt'] },
    certificate: {
      type: 'object',
      additionalProperties: false,
      required: ['mode', 'dir'],
      properties: {
        mode: { enum: ['off', 'auto', 'required'] },
        dir: { type: 'string', minLength: 1 },
        validDay: { type: 'integer', minimum: 1, maximum: 3650 },
        issueAuthority: { enum: ['RSA', 'ECC'] },
      },
    },
    southbound: {
      type: 'object',
      additionalProperties: false,
      required: ['models', 'devices'],
      properties: {
        models: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['points'],
            properties: { points: { type: 'object', minProperties: 1, additionalProperties: registerPoint } },
          },
        },
        devices: { type: 'array', maxItems: 2000, items: southboundDeviceSchema },
        reconnectMinMs: { type: 'integer', minimum: 50, maximum: 600_000 },
        reconnectMaxMs: { type: 'integer', minimum: 50, maximum: 3_600_000 },
      },
    },
    buffer: {
      type: 'object',
      additionalProperties: false,
      required: ['dir'],
      properties: {
        dir: { type: 'string', minLength: 1 },
        maxBytes: { type: 'integer', minimum: 1024 },
        maxAgeMs: { type: 'integer', minimum: 1000 },
        dropPolicy: { enum: ['drop-oldest', 'refuse-newest'] },
      },
    },
    localMqtt: {
      type: 'object',
      additionalProperties: false,
      required: ['devices'],
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        devices: {
          type: 'array',
          maxItems: 2000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['deviceKey'],
            properties: { deviceKey: key, name: { type: 'string', minLength: 1, maxLength: 128 } },
          },
        },
      },
    },
    configCenter: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
        ...secretRef('token').properties,
      },
    },
    uplink: {
      type: 'object',
      additionalProperties: false,
      properties: {
        keepalive: { type: 'integer', minimum: 10, maximum: 1200 },
        reconnectMinMs: { type: 'integer', minimum: 50 },
        reconnectMaxMs: { type: 'integer', minimum: 100 },
        replyTimeoutMs: { type: 'integer', minimum: 100, maximum: 120_000 },
        maxOnlineSubDevices: { type: 'integer', minimum: 1, maximum: 10_000 },
      },
    },
  },
} as const;
