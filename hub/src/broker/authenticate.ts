import { compressionOf, isSupportedCompression, parseConnect, verifyConnectPassword, type SupportedCompression } from '@edgehub/shared';
import type { Registry } from '../registry/registry.js';
import type { DeviceIdentity, ListenerKind } from '../sessions/sessions.js';
import type { Throttle } from './throttle.js';
import type { ClientCertificatePolicy, PresentedCertificate } from './client-certificates.js';

/** MQTT 3.1.1 CONNACK return codes the hub uses (docs/ENOS-PROTOCOL.md §2.3). */
export const connack = {
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;

export interface ConnectInput {
  /** The MQTT ClientId exactly as sent. */
  clientId: string;
  clean: boolean;
  username: string | undefined;
  password: Buffer | undefined;
  listener: ListenerKind;
  /** The client certificate of a TLS connection, if one was presented. */
  certificate?: PresentedCertificate;
}

export type ConnectDecision =
  | {
      ok: true;
      device: DeviceIdentity;
      secureMode: string;
      compression: SupportedCompression;
      activation: boolean;
      /** The device's activeTime as this check read it (the `online` write picks its condition by it). */
      activeTime?: number;
      certificateSerial?: string;
    }
  | { ok: false; returnCode: 2 | 3 | 4 | 5; reason: string };

/**
 * The CONNECT check of docs/ENOS-PROTOCOL.md §2.2: ClientId `cid|k=v,…|`, username `dk&pk`, password =
 * the plain digest of the sorted fields + secret under the signmethod's alias, any hex case; the
 * timestamp is opaque. Bad signature or unknown device: 4 (indistinguishable on purpose). Disabled
 * device and refused modes: 5.
 */
export async function authenticateConnect(
  input: ConnectInput,
  registry: Registry,
  throttle: Throttle,
  now: number,
  certificates?: ClientCertificatePolicy,
): Promise<ConnectDecision> {
  if (input.clientId === '' && !input.clean) return refuse(connack.identifierRejected, 'zero-length ClientId needs a clean session');
  if (input.username === undefined || input.password === undefined)
    return refuse(connack.badUsernameOrPassword, 'username and password are required');
  const attempt = parseConnect(input.clientId, input.username);
  if (!attempt) return refuse(connack.badUsernameOrPassword, 'malformed ClientId or username');
  if (!attempt.algo) return refuse(connack.badUsernameOrPassword, `unsupported signmethod ${attempt.signMethod ?? ''}`);
  const secureMode = String(attempt.secureMode || '2').trim();
  if (secureMode !== '2' && secureMode !== '3') return refuse(connack.notAuthorized, `securemode ${secureMode} is not supported`);

  const device = await registry.devices.forConnect(attempt.productKey, attempt.deviceKey);
  const product = device ? await registry.products.byKey(device.productKey) : undefined;
  if (!device || !product) return refuse(connack.badUsernameOrPassword, 'unknown device');
  const secret = secureMode === '3' ? product.productSecret : device.deviceSecret;
  if (!verifyConnectPassword(attempt, input.password.toString('utf8'), secret, attempt.algo))
    return refuse(connack.badUsernameOrPassword, 'signature mismatch');

  // From here the caller proved knowledge of the secret: reasons may be specific.
  if (device.status === 'disabled') return refuse(connack.notAuthorized, 'device is disabled');
  // A presented certificate must be trusted, not revoked and bound to this very device (§6); the
  // CONNECT signature above is checked as well, as EnOS SDKs still send it over TLS.
  let mutualTls = false;
  if (input.certificate) {
    const cert = input.certificate;
    if (!certificates || !cert.trusted)
      return refuse(connack.notAuthorized, 'client certificate is not issued by a trusted CA or is expired');
    if (certificates.isRevoked(cert.serialHex)) return refuse(connack.notAuthorized, 'client certificate is revoked');
    const bound = await certificates.boundDevice(cert.serialHex);
    if (!bound || bound.assetId !== device.assetId) return refuse(connack.notAuthorized, 'client certificate is not bound to this device');
    mutualTls = true;
  }
  if (product.biDirectionalAuth && !mutualTls)
    return refuse(connack.notAuthorized, 'product requires certificate-based (mutual TLS) authentication');
  if (secureMode === '3') {
    if (!product.dynamicActivateEnabled) return refuse(connack.notAuthorized, 'dynamic activation is not enabled for the product');
    // Secure default (§2.5, §12): a device activates once; afterwards it must use its deviceSecret.
    if (device.activeTime !== undefined) return refuse(connack.notAuthorized, 'device is already activated');
  }
  const compression = compressionOf(attempt.extraInfo) ?? 'none';
  if (!isSupportedCompression(compression))
    return refuse(connack.notAuthorized, `compression ${compression} is not supported (use GZIP or none)`);
  const throttled = await throttle.admit(device.assetId, now);
  if (throttled) return refuse(connack.serverUnavailable, throttled);
  return {
    ok: true,
    device: {
      assetId: device.assetId,
      orgId: device.orgId,
      productKey: device.productKey,
      deviceKey: device.deviceKey,
      productType: device.productType,
    },
    secureMode,
    compression,
    activation: secureMode === '3',
    ...(device.activeTime !== undefined ? { activeTime: device.activeTime } : {}),
    ...(mutualTls && input.certificate ? { certificateSerial: input.certificate.serialHex } : {}),
  };
}

function refuse(returnCode: 2 | 3 | 4 | 5, reason: string): ConnectDecision {
  return { ok: false, returnCode, reason };
}
