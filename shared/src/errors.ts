/**
 * The error-code table of the wire contract (docs/ENOS-PROTOCOL.md §3, §5.2, §7.1, §7.2, §7.3).
 * One table for REST and MQTT: the REST layer puts `code` into the response envelope,
 * the MQTT router puts it into the `_reply` payload.
 */
export const codes = {
  // REST envelope (§7.1)
  ok: 0,
  invalidArgument: 99400,
  unauthenticated: 99401,
  denied: 99403,
  notFound: 99404,
  bodyTooLarge: 99413,
  rateLimited: 99429,
  internal: 99500,

  // apim token service (§7.2)
  tokenReplayedEncryption: 1001,
  tokenAppKeyNotExist: 1002,
  tokenInvalidEncryption: 1003,
  tokenInvalidParam: 1004,
  tokenInternal: 1005,
  tokenParamEmpty: 1202,
  tokenExpired: 1203,
  tokenRefreshFailed: 1204,
  invalidSignature: 1205,

  // Connection Service (§7.3)
  deviceNotFound: 11404,
  productNotFound: 11611,
  productHasDevices: 11612,
  modelNotFound: 11699,
  deviceKeyExists: 11702,
  deviceKeyGenerationFailed: 11714,
  notAGateway: 11738,
  deviceLimitExceeded: 11739,
  subDeviceBoundElsewhere: 11740,
  deviceOffline: 11900,
  commandCacheFull: 11902,
  commandNotSent: 11904,
  commandReplyTimeout: 11915,
  /** Ours: the device answered the command with an error code (EnOS documents none). */
  commandDeviceError: 11906,
  certificateBoundElsewhere: 11833,
  deviceNotActivated: 11888,

  // MQTT common (§3) and thing model (§4.1)
  mqttSuccess: 200,
  modelValidationFailed: 1204,
  attributeUpdateFailed: 1207,
  attributeQueryFailed: 1208,
  attributeDeleteFailed: 1209,
  msgTooLarge: 1008,
  noWritePermission: 1009,
  payloadFormatError: 1220,
  payloadEmpty: 1251,
  methodMismatch: 1260,
  noSubDevicePermission: 1212,
  topoAddFailed: 1255,
  topoDeleteFailed: 1256,
  notGatewayMqtt: 1200,

  // sub-device login (§5.2)
  subDeviceNotExist: 705,
  subDeviceDisabled: 723,
  subDeviceTopoMissing: 740,
  subDeviceSignFailed: 742,
  subDeviceMustUseSsl: 746,
  dynamicActivateNotAllowed: 770,
  subDeviceCannotConnectDirectly: 771,
  registerDeviceKeyExists: 702,
  registerKeyGenerationFailed: 714,
  registerLimitExceeded: 739,
} as const;

export type ErrorCode = (typeof codes)[keyof typeof codes];

/** Operator-facing default messages of REST codes; a thrower may give a more specific one. */
export const restMessages: Readonly<Record<number, string>> = {
  0: 'OK',
  99400: 'Invalid Argument',
  99401: 'Authentication failed',
  99403: 'Denied resource',
  99404: 'Object not found',
  99413: 'Request body too large',
  99429: 'Too many requests',
  99500: 'Internal error',
  1001: 'Repeated request with duplicated encryption',
  1002: 'appKey does not exist',
  1003: 'Invalid encryption',
  1004: 'Invalid param',
  1005: 'Internal error',
  1202: 'Param is empty',
  1203: 'Token is expired or invalid',
  1204: 'Refresh token failed',
  1205: 'Invalid apim-signature',
  11404: 'Device cannot be found',
  11611: 'Product not found',
  11612: 'Product still has devices',
  11699: 'Model does not exist',
  11702: 'Device key already exists',
  11714: 'Failed to generate device key',
  11738: 'Device is not a gateway',
  11739: 'Exceeds the device limit',
  11740: 'Sub-device already belongs to another gateway',
  11900: 'Device is offline',
  11902: 'Command cache is full',
  11904: 'Command was not sent',
  11915: 'Reply timed out',
  11906: 'The device answered the command with an error',
  11833: 'Certificate is bound to another device',
  11888: 'Device is not activated',
};

/** Default messages of MQTT reply codes (1204 means something else here than in the token service). */
export const mqttMessages: Readonly<Record<number, string>> = {
  200: 'Success',
  1204: 'Model validation failed',
  1207: 'Attribute update failed',
  1208: 'Attribute query failed',
  1209: 'Attribute delete failed',
  1008: 'Msg size is too large, discard the message',
  1009: 'Publish to topic with no write permission',
  1220: 'Payload format error',
  1251: 'Payload is empty',
  1260: 'Methods not consistent',
  1212: 'No sub-device permission',
  1255: 'Add topo failure',
  1256: 'Delete topo failure',
  1200: 'Device is not a gateway',
  705: 'Device does not exist',
  723: 'Device is disabled',
  740: 'Sub-device does not belong to the gateway',
  742: 'Sign check failed',
  746: 'The device must login by ssl',
  770: 'Dynamic activate is not allowed',
  771: 'Sub-device cannot connect to the broker directly',
  702: 'DeviceKey existed',
  714: 'Generate deviceKey failed',
  739: 'Exceed product max device size',
};

/**
 * A domain error that carries its protocol code. The message is meant for an operator
 * and is safe to put on the wire (never a secret, never a stack trace).
 */
export class EnosError extends Error {
  readonly code: number;
  constructor(code: number, message?: string) {
    super(message ?? restMessages[code] ?? mqttMessages[code] ?? 'Error');
    this.name = 'EnosError';
    this.code = code;
  }
}

export function isEnosError(e: unknown): e is EnosError {
  return e instanceof EnosError;
}
