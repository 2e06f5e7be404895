import { randomUUID, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { buildPlist, type PlistDict } from './plist-codec.js';

/** How the device gets its identity certificate: a PKCS#12 issued up front, or SCEP. */
export type ProfileIdentity =
  { kind: 'pkcs12'; pkcs12: Buffer; password: string } | { kind: 'scep'; url: string; challenge: string; subject?: string };

export interface EnrollmentProfileOptions {
  /** The profile's command URL (…/mdm) and optional separate check-in URL (…/mdm/checkin). */
  serverUrl: string;
  checkInUrl?: string;
  /** The push certificate's topic. */
  topic: string;
  identity: ProfileIdentity;
  /** DER of CAs the device must trust for the server URL (added as root payloads). */
  trustedCaDers?: Buffer[];
  organization?: string;
  /** Stable identifier prefix of the profile's payloads, e.g. com.example.mdm. */
  identifier?: string;
  /** Every access right (8191) unless narrowed. */
  accessRights?: number;
  /** Defaults to true: every request carries Mdm-Signature. */
  signMessage?: boolean;
  uuid?: () => string;
}

export const allAccessRights = 8191;

/**
 * The enrollment profile (.mobileconfig) for a device (docs/DEVICE-MANAGEMENT.md, "Apple:
 * enrollment profile"): a Configuration payload holding the identity payload (PKCS#12 or SCEP),
 * optional root CA payloads and the com.apple.mdm payload that names the identity by its UUID,
 * the server URLs and the topic. Built with the plist library.
 */
export function buildEnrollmentProfile(opts: EnrollmentProfileOptions): string {
  const uuid = opts.uuid ?? (() => randomUUID().toUpperCase());
  const base = opts.identifier ?? 'io.edgehub.mdm';
  const identityUuid = uuid();
  const identity: PlistDict =
    opts.identity.kind === 'pkcs12'
      ? {
          PayloadType: 'com.apple.security.pkcs12',
          PayloadVersion: 1,
          PayloadIdentifier: `${base}.identity`,
          PayloadUUID: identityUuid,
          PayloadDisplayName: 'Device identity',
          PayloadContent: opts.identity.pkcs12,
          Password: opts.identity.password,
        }
      : {
          PayloadType: 'com.apple.security.scep',
          PayloadVersion: 1,
          PayloadIdentifier: `${base}.identity`,
          PayloadUUID: identityUuid,
          PayloadDisplayName: 'Device identity (SCEP)',
          PayloadContent: {
            URL: opts.identity.url,
            Challenge: opts.identity.challenge,
            Keysize: 2048,
            'Key Type': 'RSA',
            'Key Usage': 5,
            ...(opts.identity.subject ? { Subject: [[['CN', opts.identity.subject]]] } : {}),
          },
        };
  const roots: PlistDict[] = (opts.trustedCaDers ?? []).map((der, i) => ({
    PayloadType: 'com.apple.security.root',
    PayloadVersion: 1,
    PayloadIdentifier: `${base}.ca.${i}`,
    PayloadUUID: uuid(),
    PayloadDisplayName: 'Server CA',
    PayloadContent: der,
  }));
  const mdm: PlistDict = {
    PayloadType: 'com.apple.mdm',
    PayloadVersion: 1,
    PayloadIdentifier: `${base}.mdm`,
    PayloadUUID: uuid(),
    PayloadDisplayName: 'Device management',
    IdentityCertificateUUID: identityUuid,
    Topic: opts.topic,
    ServerURL: opts.serverUrl,
    ...(opts.checkInUrl ? { CheckInURL: opts.checkInUrl } : {}),
    SignMessage: opts.signMessage ?? true,
    AccessRights: opts.accessRights ?? allAccessRights,
    CheckOutWhenRemoved: true,
    ServerCapabilities: ['com.apple.mdm.per-user-connections'],
  };
  return buildPlist({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: base,
    PayloadUUID: uuid(),
    PayloadDisplayName: 'Device enrollment',
    ...(opts.organization ? { PayloadOrganization: opts.organization } : {}),
    PayloadRemovalDisallowed: false,
    PayloadContent: [...roots, identity, mdm],
  });
}

pkijs.setEngine('node-webcrypto', new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as never }));

function toArrayBuffer(buf: Buffer): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/**
 * Signs a profile: CMS SignedData with the profile inside (DER), served as
 * application/x-apple-aspen-config. `hash` must suit the key (SHA-256 for P-256 and RSA).
 */
export async function signEnrollmentProfile(profileXml: string, signerCertDer: Buffer, privateKey: webcrypto.CryptoKey): Promise<Buffer> {
  const cert = pkijs.Certificate.fromBER(toArrayBuffer(signerCertDer));
  const content = Buffer.from(profileXml, 'utf8');
  const signed = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: pkijs.ContentInfo.DATA,
      eContent: new asn1js.OctetString({ valueHex: toArrayBuffer(content) }),
    }),
    signerInfos: [
      new pkijs.SignerInfo({ version: 1, sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }) }),
    ],
    certificates: [cert],
  });
  await signed.sign(privateKey, 0, 'SHA-256');
  const info = new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: signed.toSchema(true) });
  return Buffer.from(info.toSchema().toBER(false));
}
