import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { Logger } from 'pino';
import type { Collection } from '../../store/port.js';
import type { DeviceTypeContext } from '../plugin.js';
import { windowsErrors } from './errors.js';
import { newEnrollmentSecret, safeEqualText, type WindowsEnrollment } from './enrollments.js';
import { isNode, provisioningDoc, textOf, tokenTypes, type Node, type SoapEnvelope } from './soap.js';

x509.cryptoProvider.set(webcrypto as never);

export const WINDOWS = 'windows';
export const providerId = 'EdgeHub';

export interface EnrollmentSettings {
  /** The organization enrolled devices join; unset = enrollment closed. */
  orgId: () => string | undefined;
  /** The password a user types at enrollment (one per deployment); unset = enrollment closed. */
  enrollmentSecret?: string;
  /** WNS package family name provisioned to devices. */
  pfn?: string;
}

/** What the enrollment request says about the device (AdditionalContext items). */
interface EnrollmentContext {
  deviceId: string;
  deviceName?: string;
  osVersion?: string;
  deviceType?: string;
  enrollmentType?: string;
}

const idPattern = /^[A-Za-z0-9._:{}-]{1,128}$/;

/**
 * Windows enrollment (docs/DEVICE-MANAGEMENT.md, "Windows: enrollment"): a RequestSecurityToken
 * with the user's UPN and the deployment's enrollment secret (on-premise authentication), a PKCS#10
 * request (its signature checked) and the device's context. The answer is a provisioning document
 * with the management URL and a fresh per-enrollment secret for the SyncML sessions. Re-enrolling
 * a device replaces its secret and ends what was queued for the old enrollment.
 */
export class EnrollmentService {
  constructor(
    private readonly enrollments: Collection<WindowsEnrollment>,
    private readonly settings: EnrollmentSettings,
    private readonly ctx: DeviceTypeContext,
    private readonly log: Logger,
    private readonly managementUrl: () => string,
  ) {}

  async enroll(req: SoapEnvelope): Promise<string> {
    const orgId = this.settings.orgId();
    if (!orgId || !this.settings.enrollmentSecret) throw windowsErrors.enrollmentClosed();
    const security = isNode(req.header['Security']) ? req.header['Security'] : {};
    const user = isNode(security['UsernameToken']) ? security['UsernameToken'] : {};
    const upn = textOf(user['Username']);
    const password = textOf(user['Password']);
    if (!upn || !password || upn.length > 256) throw windowsErrors.enrollmentRefused();
    if (!safeEqualText(password, this.settings.enrollmentSecret)) throw windowsErrors.enrollmentRefused();
    const rst = req.body['RequestSecurityToken'];
    if (!isNode(rst)) throw windowsErrors.malformedSoap('no RequestSecurityToken');
    await checkCsr(rst);
    const context = contextOf(rst);

    const { secret, sha256 } = newEnrollmentSecret();
    const existing = await this.ctx.devices.byIdentifier(WINDOWS, context.deviceId);
    const device = await this.ctx.devices.enroll({
      orgId,
      type: WINDOWS,
      deviceIdentifier: context.deviceId,
      owner: upn,
      ...(context.deviceName ? { name: context.deviceName } : {}),
      properties: {
        ...(context.osVersion ? { osVersion: context.osVersion } : {}),
        ...(context.deviceType ? { deviceType: context.deviceType } : {}),
        ...(context.enrollmentType ? { enrollmentType: context.enrollmentType } : {}),
      },
    });
    if (existing) await this.ctx.pull.clear({ deviceType: WINDOWS, deviceId: device.id }, 'the device enrolled again');
    const record: WindowsEnrollment = { deviceId: context.deviceId, secretSha256: sha256, enrolledAt: this.ctx.clock() };
    if (!(await this.enrollments.update(context.deviceId, record))) await this.enrollments.insert(record);
    this.log.info({ deviceId: context.deviceId, id: device.id }, 'windows device enrolled');
    return provisioningDoc({
      providerId,
      managementUrl: this.managementUrl(),
      deviceId: context.deviceId,
      secret,
      ...(this.settings.pfn ? { pfn: this.settings.pfn } : {}),
    });
  }
}

async function checkCsr(rst: Node): Promise<void> {
  const token = rst['BinarySecurityToken'];
  const valueType = isNode(token) ? token['@_ValueType'] : undefined;
  const b64 = textOf(token);
  if (!b64 || valueType !== tokenTypes.pkcs10) throw windowsErrors.badCertificateRequest('a PKCS#10 BinarySecurityToken is required');
  if (b64.length > 16_384 || !/^[A-Za-z0-9+/=\s]+$/.test(b64)) throw windowsErrors.badCertificateRequest('not base64');
  let ok: boolean;
  try {
    const csr = new x509.Pkcs10CertificateRequest(Buffer.from(b64, 'base64'));
    ok = await csr.verify();
  } catch {
    ok = false;
  }
  if (!ok) throw windowsErrors.badCertificateRequest('not a PKCS#10 request signed by its own key');
}

function contextOf(rst: Node): EnrollmentContext {
  const additional = isNode(rst['AdditionalContext']) ? rst['AdditionalContext'] : {};
  const items = Array.isArray(additional['ContextItem']) ? (additional['ContextItem'] as unknown[]) : [];
  const values = new Map<string, string>();
  for (const it of items.slice(0, 64)) {
    if (!isNode(it)) continue;
    const name = it['@_Name'];
    const value = textOf(it['Value']);
    if (typeof name === 'string' && value !== undefined && value.length <= 256) values.set(name, value);
  }
  const deviceId = values.get('DeviceID');
  if (!deviceId || !idPattern.test(deviceId)) throw windowsErrors.malformedSoap('AdditionalContext needs a DeviceID');
  const out: EnrollmentContext = { deviceId };
  const name = values.get('DeviceName');
  const os = values.get('OSVersion');
  const type = values.get('DeviceType');
  const enrollmentType = values.get('EnrollmentType');
  if (name) out.deviceName = name;
  if (os) out.osVersion = os;
  if (type) out.deviceType = type;
  if (enrollmentType) out.enrollmentType = enrollmentType;
  return out;
}
