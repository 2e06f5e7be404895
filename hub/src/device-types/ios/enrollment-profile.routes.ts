import { X509Certificate, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { needs } from '../../device-management/guard.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import type { PushCertificates } from '../../push/apns/push-certificates.js';
import { buildEnrollmentProfile, signEnrollmentProfile, type ProfileIdentity } from './enrollment-profile.js';
import type { IosEnrollmentTokens } from './enrollment-tokens.js';
import type { HubIdentityIssuer } from './enrollment-profile-identity.js';

/** The certificate and key that sign enrollment profiles (HUB_IOS_PROFILE_SIGNER_CERT_FILE / _KEY_FILE). */
export interface ProfileSigner {
  certDer: Buffer;
  privateKey: webcrypto.CryptoKey;
}

const curves: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** Reads the signer's PEMs; throws at start-up when the key is not the certificate's or of an unsupported kind. */
export async function loadProfileSigner(certPem: string, keyPem: string): Promise<ProfileSigner> {
  const cert = new X509Certificate(certPem);
  const key = createPrivateKey(keyPem);
  const spki = (k: ReturnType<typeof createPublicKey>) => k.export({ type: 'spki', format: 'der' });
  if (!spki(createPublicKey(key)).equals(spki(cert.publicKey)))
    throw new Error('HUB_IOS_PROFILE_SIGNER_KEY_FILE is not the key of HUB_IOS_PROFILE_SIGNER_CERT_FILE');
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  let algorithm: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  if (key.asymmetricKeyType === 'ec') {
    const namedCurve = curves[key.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!namedCurve) throw new Error(`profile signer: unsupported curve ${key.asymmetricKeyDetails?.namedCurve}`);
    algorithm = { name: 'ECDSA', namedCurve };
  } else if (key.asymmetricKeyType === 'rsa') {
    algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  } else throw new Error(`profile signer: unsupported key type ${key.asymmetricKeyType}`);
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, false, ['sign']);
  return { certDer: cert.raw, privateKey };
}

interface ProfileBody {
  identity:
    | { kind: 'scep'; url: string; challenge: string; subject?: string }
    | { kind: 'pkcs12'; pkcs12: string; password: string }
    | { kind: 'generated'; password?: string };
  signed?: boolean;
  signMessage?: boolean;
  organization?: string;
  validDays?: number;
}

export const mobileconfigType = 'application/x-apple-aspen-config';

/**
 * Under /api/device-mgt/v1.0 (OAuth2 scope dm:devices:manage; docs/DEVICE-MANAGEMENT.md, "Apple:
 * enrollment profile"):
 *   POST /ios/enrollment-profile { identity, signed?, signMessage?, organization?, validDays? } → the .mobileconfig
 * The profile names this hub's /mdm URLs and push topic; its CheckInURL carries a fresh enrollment
 * token of the caller's organization, so the phone that installs it enrolls there. `signed: true`
 * answers the CMS SignedData (DER) made with the hub's profile signer, else the XML plist.
 * `identity.kind: generated` has the hub make the device identity (enrollment-profile-identity.ts):
 * a key and a certificate of the hub's certificate service in a PKCS#12 protected by the caller's
 * password or a generated one, answered once in the `x-identity-password` header.
 * How the device proves itself on every request: `signMessage: false` points the profile at the
 * mutual-TLS listener (HUB_IOS_MDM_TLS_URL) with SignMessage false, the client certificate being
 * the identity; `true` at the plain URLs with SignMessage true (Mdm-Signature). The default is the
 * TLS listener when its URL is configured.
 */
export async function enrollmentProfileRoutes(
  app: FastifyInstance,
  opts: {
    certificates: PushCertificates;
    tokens: IosEnrollmentTokens;
    publicBaseUrl: () => string;
    /** The public base URL of the mutual-TLS MDM listener, when there is one. */
    tlsBaseUrl?: () => string | undefined;
    signer?: ProfileSigner;
    /** Present when the hub's certificate service is on: identities made by the hub. */
    identities?: HubIdentityIssuer;
  },
): Promise<void> {
  const text = (max: number) => ({ type: 'string', minLength: 1, maxLength: max });
  app.post(
    '/ios/enrollment-profile',
    {
      preHandler: needs('dm:devices:manage'),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['identity'],
          properties: {
            identity: {
              type: 'object',
              additionalProperties: false,
              required: ['kind'],
              properties: {
                kind: { enum: ['scep', 'pkcs12', 'generated'] },
                url: text(2048),
                challenge: text(1024),
                subject: text(256),
                pkcs12: { type: 'string', minLength: 4, maxLength: 65_536, pattern: '^[A-Za-z0-9+/=]+$' },
                password: { type: 'string', maxLength: 256 },
              },
            },
            signed: { type: 'boolean' },
            signMessage: { type: 'boolean' },
            organization: text(256),
            validDays: { type: 'integer', minimum: 1, maximum: 90 },
          },
        },
      },
    },
    async (req, reply) => {
      const body = req.body as ProfileBody;
      const caller = req.dmCaller!;
      const cert = await opts.certificates.view();
      if (!cert) throw new DeviceMgtError(409, 'no APNs push certificate uploaded: a profile needs its topic');
      if (body.signed && !opts.signer)
        throw new DeviceMgtError(409, 'no profile signer configured (HUB_IOS_PROFILE_SIGNER_CERT_FILE / _KEY_FILE)');
      const tlsBase = opts.tlsBaseUrl?.();
      const signMessage = body.signMessage ?? tlsBase === undefined;
      if (!signMessage && tlsBase === undefined)
        throw new DeviceMgtError(409, 'no mutual-TLS MDM listener configured (HUB_IOS_MDM_TLS_URL): the profile must sign its messages');
      let identity: ProfileIdentity;
      const id = body.identity;
      const headers: Record<string, string> = {};
      if (id.kind === 'generated') {
        if (!opts.identities) throw new DeviceMgtError(409, "the hub's certificate service is off: it cannot issue device identities");
        if (id.password !== undefined && id.password.length < 8) throw new DeviceMgtError(400, 'identity.password: at least 8 characters');
        const made = await opts.identities.issue(caller.orgId, id.password);
        identity = { kind: 'pkcs12', pkcs12: made.pkcs12, password: made.password };
        headers['x-identity-certificate-serial'] = made.serialHex;
        if (made.passwordGenerated) headers['x-identity-password'] = made.password;
      } else if (id.kind === 'scep') {
        if (!id.url || !id.challenge) throw new DeviceMgtError(400, 'identity: scep needs url and challenge');
        if (!/^https?:\/\//.test(id.url)) throw new DeviceMgtError(400, 'identity.url: an http(s) URL');
        identity = { kind: 'scep', url: id.url, challenge: id.challenge, ...(id.subject ? { subject: id.subject } : {}) };
      } else {
        if (!id.pkcs12 || id.password === undefined) throw new DeviceMgtError(400, 'identity: pkcs12 needs pkcs12 (base64) and password');
        identity = { kind: 'pkcs12', pkcs12: Buffer.from(id.pkcs12, 'base64'), password: id.password };
      }
      const token = await opts.tokens.create(caller.orgId, caller.clientId, (body.validDays ?? 30) * 86_400);
      const base = (signMessage ? opts.publicBaseUrl() : tlsBase!).replace(/\/+$/, '');
      const xml = buildEnrollmentProfile({
        serverUrl: `${base}/mdm`,
        checkInUrl: `${base}/mdm/checkin?enrollment=${token}`,
        topic: cert.topic,
        signMessage,
        identity,
        ...(body.organization ? { organization: body.organization } : {}),
      });
      const payload = body.signed ? await signEnrollmentProfile(xml, opts.signer!.certDer, opts.signer!.privateKey) : xml;
      return reply
        .status(200)
        .headers(headers)
        .header('content-type', mobileconfigType)
        .header('content-disposition', 'attachment; filename="enroll.mobileconfig"')
        .header('cache-control', 'no-store')
        .send(payload);
    },
  );
}
