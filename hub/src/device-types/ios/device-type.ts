import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { ApnsClient, apnsProductionUrl } from '../../push/apns/apns-client.js';
import { PushCertificates, type PushCertificateRecord } from '../../push/apns/push-certificates.js';
import { loadSecretKeyring } from '../../secrets/secret-key.js';
import type { PushProvider, PushTarget, WakeOutcome } from '../../push/port.js';
import type { DeviceTypeDeps } from '../plugins.js';
import type { DeviceCommand, DeviceTypeContext, DeviceTypePlugin } from '../plugin.js';
import { operationToRequestType, renderCommand, requestTypeFor } from './commands.js';
import { RenderedCommands } from './rendered-commands.js';
import { CorePullSource, IOS } from './core-source.js';
import { openIosEnrollments } from './enrollments.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import { MdmProtocolError } from './errors.js';
import { IdentityVerifier } from './identity.js';
import { MdmService } from './mdm-service.js';
import { mdmRoutes } from './mdm.routes.js';
import { pushCertificateRoutes } from './push-certificate.routes.js';
import { enrollmentProfileRoutes, loadProfileSigner } from './enrollment-profile.routes.js';
import { IosEnrollmentTokens } from './enrollment-tokens.js';
import { HubIdentityIssuer, HubIssuedIdentityVerifier } from './enrollment-profile-identity.js';

const day = 86_400;

/** The plugin's settings (docs/CONFIGURATION.md, "iOS device type"). */
export interface IosSettings {
  apnsUrl: string;
  apnsCaPem?: string;
  identityCaPems: string[];
  /** The organization enrolled iPhones belong to in the device directory (read at each Authenticate). */
  orgId: () => string | undefined;
  /** Public base URL of the mutual-TLS MDM listener (HUB_IOS_MDM_TLS_URL), read when a profile is made. */
  mdmTlsUrl?: () => string | undefined;
  pushCertPem?: string;
  pushKeyPem?: string;
  /** Certificate and key (PEM) that sign enrollment profiles; without them only unsigned profiles are served. */
  profileSignerCertPem?: string;
  profileSignerKeyPem?: string;
}

export function iosSettingsFromEnv(env: Record<string, string | undefined>): IosSettings {
  const file = (name: string) => (env[name] ? readFileSync(env[name], 'utf8') : undefined);
  const apnsCaPem = file('HUB_IOS_APNS_CA_FILE');
  const identity = file('HUB_IOS_IDENTITY_CA_FILE');
  const pushCertPem = file('HUB_IOS_PUSH_CERT_FILE');
  const pushKeyPem = file('HUB_IOS_PUSH_KEY_FILE');
  const profileSignerCertPem = file('HUB_IOS_PROFILE_SIGNER_CERT_FILE');
  const profileSignerKeyPem = file('HUB_IOS_PROFILE_SIGNER_KEY_FILE');
  const tlsUrl = env['HUB_IOS_MDM_TLS_URL'];
  if (tlsUrl && !/^https:\/\//.test(tlsUrl)) throw new Error(`HUB_IOS_MDM_TLS_URL must start with https://, got "${tlsUrl}"`);
  return {
    apnsUrl: env['HUB_IOS_APNS_URL'] ?? apnsProductionUrl,
    ...(apnsCaPem ? { apnsCaPem } : {}),
    identityCaPems: identity ? [identity] : [],
    orgId: () => env['HUB_IOS_ORG_ID'] || undefined,
    mdmTlsUrl: () => env['HUB_IOS_MDM_TLS_URL'] || undefined,
    ...(pushCertPem ? { pushCertPem } : {}),
    ...(pushKeyPem ? { pushKeyPem } : {}),
    ...(profileSignerCertPem && profileSignerKeyPem ? { profileSignerCertPem, profileSignerKeyPem } : {}),
  };
}

/** The APNs client behind the core's push port: Apple's statuses mapped to wake outcomes. */
class ApnsPushProvider implements PushProvider {
  readonly id = 'apns';
  private client?: ApnsClient;

  constructor(
    private readonly settings: IosSettings,
    private readonly clock: () => number,
  ) {}

  use(rec: PushCertificateRecord): void {
    const old = this.client;
    this.client = new ApnsClient({
      url: this.settings.apnsUrl,
      certPem: rec.certPem,
      keyPem: rec.keyPem,
      ...(this.settings.apnsCaPem ? { caPem: this.settings.apnsCaPem } : {}),
      clock: this.clock,
    });
    void old?.close();
  }

  async wake(target: PushTarget): Promise<WakeOutcome> {
    const pushMagic = target.extra['pushMagic'];
    const topic = target.extra['topic'];
    if (!this.client) return { kind: 'retry-after', afterMs: 60_000, reason: 'no APNs push certificate uploaded' };
    if (!pushMagic || !topic) return { kind: 'token-invalid', reason: 'no PushMagic for this device' };
    const outcome = await this.client.push({ tokenHex: target.token, pushMagic, topic });
    switch (outcome.kind) {
      case 'sent':
        return { kind: 'sent', id: outcome.apnsId };
      case 'token-invalid':
        return { kind: 'token-invalid', reason: outcome.reason || String(outcome.status) };
      case 'retry':
        return { kind: 'retry-after', reason: outcome.reason || String(outcome.status) };
      case 'certificate':
      case 'rejected':
        return { kind: 'rejected', reason: outcome.reason, status: outcome.status };
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
  }
}

/**
 * The `ios` device type on the shared command core (docs/DEVICE-MANAGEMENT.md, "Apple MDM"):
 * commands are queued by the core and pulled at check-in; wake-ups go through the core's push
 * queue to the APNs provider; enrollments are mirrored into the device directory.
 */
export async function createIosDeviceType(
  deps: DeviceTypeDeps,
  settings: IosSettings = iosSettingsFromEnv(deps.env),
): Promise<DeviceTypePlugin> {
  const log: Logger = deps.log.child({ deviceType: IOS });
  const enrollments = await openIosEnrollments(deps.store);
  const enrollmentTokens = await IosEnrollmentTokens.open(deps.store, deps.clock);
  // The push certificate's key is sealed at rest with the hub's secret key (docs/SECURITY.md, "Secrets at rest").
  const keyring = await loadSecretKeyring({ env: deps.env, dataDir: deps.dataDir, log });
  const certificates = await PushCertificates.open(deps.store, log, deps.clock, keyring);
  const provider = new ApnsPushProvider(settings, deps.clock);
  if (settings.pushCertPem) await certificates.upload(settings.pushCertPem, settings.pushKeyPem);
  let topic = (await certificates.current())?.topic;
  const current = await certificates.current();
  if (current) provider.use(current);
  certificates.onChange((rec) => {
    topic = rec.topic;
    provider.use(rec);
  });
  const signer =
    settings.profileSignerCertPem && settings.profileSignerKeyPem
      ? await loadProfileSigner(settings.profileSignerCertPem, settings.profileSignerKeyPem)
      : undefined;
  // With the certificate service on, the hub also issues identities for enrollment profiles and accepts them.
  const hubIdentities = deps.certificates ? await HubIdentityIssuer.open(deps.store, deps.certificates, deps.clock) : undefined;
  const identity = hubIdentities
    ? new HubIssuedIdentityVerifier(
        settings.identityCaPems.length,
        settings.identityCaPems,
        new IdentityVerifier(await hubIdentities.caPems(), deps.clock),
        hubIdentities,
        deps.clock,
      )
    : settings.identityCaPems.length > 0
      ? new IdentityVerifier(settings.identityCaPems, deps.clock)
      : undefined;
  if (!identity)
    log.warn('HUB_IOS_IDENTITY_CA_FILE is not set and the certificate service is off: every Apple MDM request is refused (401)');
  const expiryTimer = setInterval(
    () => void certificates.checkExpiry().catch((err: unknown) => log.error({ err }, 'push certificate expiry check failed')),
    day * 1000,
  );
  expiryTimer.unref();
  void certificates.checkExpiry().catch(() => undefined);

  const rendered = new RenderedCommands();

  return {
    id: IOS,
    delivery: 'wake-and-pull',
    features: Object.entries(operationToRequestType).map(([code, requestType]) => ({ code, name: requestType })),
    deadlines: {
      defaultPendingSeconds: 7 * day,
      maxPendingSeconds: 30 * day,
      replyTimeoutSeconds: { default: 7 * day, min: 60, max: 30 * day },
    },
    pushProvider: provider,
    async render(command: DeviceCommand) {
      const kept = rendered.get(command.commandId);
      if (kept !== undefined) return kept;
      // Only ClearPasscode reads the enrollment (its current UnlockToken); it is never kept.
      const usesEnrollment = requestTypeFor(command.name) === 'ClearPasscode';
      const e = usesEnrollment ? await enrollments.get(command.deviceKey) : undefined;
      const { plist } = renderCommand(
        command.commandId,
        command.name,
        command.params,
        e?.unlockToken ? { unlockToken: Buffer.from(e.unlockToken, 'base64') } : {},
      );
      if (!usesEnrollment) rendered.set(command.commandId, plist);
      return plist;
    },
    async routes(app: FastifyInstance, ctx: DeviceTypeContext) {
      const source = new CorePullSource(ctx);
      const service = new MdmService(
        enrollments,
        source,
        log,
        () => topic,
        {
          async authenticated(e, via) {
            // The profile's enrollment token names the organization; without one, HUB_IOS_ORG_ID
            // (docs/DEVICE-MANAGEMENT.md, "Apple: which organization").
            let orgId: string | undefined;
            if (via.enrollmentToken !== undefined) {
              orgId = await enrollmentTokens.orgOf(via.enrollmentToken);
              if (!orgId) throw new MdmProtocolError(403, 'EnrollmentTokenInvalid', 'the enrollment token is unknown or expired');
            }
            // An identity the hub issued for a profile belongs to the organization that downloaded it.
            const identityOrg = await hubIdentities?.orgOf(e.certSha256);
            if (identityOrg !== undefined && orgId !== undefined && orgId !== identityOrg)
              throw new MdmProtocolError(403, 'IdentityMismatch', 'the identity certificate was issued for another organization');
            orgId ??= identityOrg ?? settings.orgId();
            if (!orgId)
              throw new MdmProtocolError(
                403,
                'EnrollmentClosed',
                'no enrollment token in the check-in URL and HUB_IOS_ORG_ID is not set: this hub enrolls no such Apple device',
              );
            try {
              await ctx.devices.enroll({
                orgId,
                type: IOS,
                deviceIdentifier: e.udid,
                owner: 'apple-mdm',
                ...(e.deviceName ? { name: e.deviceName } : {}),
                properties: {
                  ...(e.serialNumber ? { serialNumber: e.serialNumber } : {}),
                  ...(e.model ? { model: e.model } : {}),
                  ...(e.osVersion ? { osVersion: e.osVersion } : {}),
                },
              });
            } catch (err) {
              // Enrolled in another organization (409): the phone must be released there first.
              if (err instanceof DeviceMgtError && err.status === 409) throw new MdmProtocolError(403, 'EnrolledElsewhere', err.message);
              throw err;
            }
          },
          async tokenUpdated(e) {
            const d = await ctx.devices.byIdentifier(IOS, e.udid);
            if (d && e.tokenHex && e.pushMagic)
              await ctx.devices.setPushToken(d.id, e.tokenHex, { pushMagic: e.pushMagic, topic: e.topic });
          },
          async checkedOut(udid) {
            source.forget(udid);
            const d = await ctx.devices.byIdentifier(IOS, udid);
            if (d) await ctx.devices.disenroll(d.id);
          },
        },
        deps.clock,
      );
      const verifier = identity ?? new IdentityVerifier([], deps.clock);
      await app.register(mdmRoutes, { service, identity: verifier });
    },
    /** Push certificate upload and status (docs/DEVICE-MANAGEMENT.md, "Apple: push certificate"). */
    async managementRoutes(app: FastifyInstance, ctx: DeviceTypeContext) {
      await app.register(pushCertificateRoutes, { certificates });
      await app.register(enrollmentProfileRoutes, {
        certificates,
        tokens: enrollmentTokens,
        publicBaseUrl: ctx.publicBaseUrl,
        ...(settings.mdmTlsUrl ? { tlsBaseUrl: settings.mdmTlsUrl } : {}),
        ...(signer ? { signer } : {}),
        ...(hubIdentities ? { identities: hubIdentities } : {}),
      });
    },
    async close() {
      clearInterval(expiryTimer);
    },
  };
}
