// @peculiar/x509 resolves its ASN.1 converters through tsyringe, which needs the Reflect polyfill.
import 'reflect-metadata';
import { X509Certificate, createHash, randomBytes, randomUUID, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { CertificateOperations } from '@edgehub/certificate-service';
import type { Collection, Store } from '../../store/port.js';
import { mdmErrors } from './errors.js';
import { IdentityVerifier, type DeviceIdentity } from './identity.js';

x509.cryptoProvider.set(webcrypto as never);
pkijs.setEngine('node-webcrypto', new pkijs.CryptoEngine({ name: 'node-webcrypto', crypto: webcrypto as never }));

/** An identity the hub issued for an enrollment profile: which organization it enrolls into. */
export interface IssuedIosIdentity {
  /** sha256 (hex) of the certificate's DER: the pin MDM check-ins are matched by. */
  certSha256: string;
  orgId: string;
  serialHex: string;
  commonName: string;
  issuedAt: number;
  notAfter: number;
}

/** What the caller receives: the PKCS#12 and its password (generated ones are returned once, never stored). */
export interface GeneratedIdentity {
  pkcs12: Buffer;
  password: string;
  passwordGenerated: boolean;
  serialHex: string;
  certSha256: string;
  /** The certificate then its issuing CA (PEM). */
  chainPem: string;
}

const p256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const identityValidDays = 365;
const validityCacheMs = 60_000;

/**
 * Device identities for enrollment profiles (docs/DEVICE-MANAGEMENT.md, "Apple: enrollment
 * profile"): an ECDSA P-256 key made here, a certificate for it from the hub's certificate service
 * (ECC issuing CA, client authentication, bound to the caller's organization), both packed into a
 * password-protected PKCS#12 for the profile's identity payload. The hub keeps the certificate's
 * digest and organization, never the key nor the password.
 */
export class HubIdentityIssuer {
  /** sha256 → until when a positive check holds (a revocation is seen within a minute). */
  private readonly valid = new Map<string, number>();

  private constructor(
    private readonly issued: Collection<IssuedIosIdentity>,
    private readonly ops: CertificateOperations,
    private readonly clock: () => number,
  ) {}

  static async open(store: Store, ops: CertificateOperations, clock: () => number = Date.now): Promise<HubIdentityIssuer> {
    const issued = await store.collection<IssuedIosIdentity>({ name: 'iosIssuedIdentities', key: 'certSha256', indexes: ['orgId'] });
    return new HubIdentityIssuer(issued, ops, clock);
  }

  /** The hub's CAs that sign these identities: the anchors their check-ins are verified against. */
  async caPems(): Promise<string[]> {
    const ca = await this.ops.caCertificates();
    return [ca.authorities.ECC.certPem, ca.rootPem];
  }

  async issue(orgId: string, password?: string): Promise<GeneratedIdentity> {
    const ca = await this.ops.caCertificates();
    const keys = await webcrypto.subtle.generateKey(p256, true, ['sign', 'verify']);
    const commonName = `ios-identity-${randomUUID()}`;
    const { C, ST, O } = ca.subjectRules;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ C: [C] }, { ST: [ST] }, { L: [ST] }, { O: [O] }, { OU: ['Apple MDM identity'] }, { CN: [commonName] }],
      keys: keys as never,
      signingAlgorithm: p256,
    });
    const result = await this.ops.issue({
      csrPem: csr.toString('pem'),
      issueAuthority: 'ECC',
      validDay: identityValidDays,
      binding: { orgId, productKey: 'ios', deviceKey: commonName, assetId: `ios-identity:${commonName}` },
    });
    const cert = new X509Certificate(result.certificate.certPem);
    const certSha256 = createHash('sha256').update(cert.raw).digest('hex');
    await this.issued.insert({
      certSha256,
      orgId,
      serialHex: result.certificate.serialHex,
      commonName,
      issuedAt: this.clock(),
      notAfter: result.certificate.notAfter.getTime(),
    });
    const secret = password ?? randomBytes(18).toString('base64url');
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    const chain = [cert.raw, new X509Certificate(result.caCertPem).raw, new X509Certificate(result.rootCertPem).raw];
    return {
      pkcs12: await buildPkcs12(pkcs8, chain, secret, commonName),
      password: secret,
      passwordGenerated: password === undefined,
      serialHex: result.certificate.serialHex,
      certSha256,
      chainPem: `${result.certificate.certPem.trim()}\n${result.caCertPem.trim()}\n`,
    };
  }

  /** The organization of an identity this hub issued and has not revoked; undefined for any other certificate. */
  async orgOf(certSha256: string): Promise<string | undefined> {
    const rec = await this.issued.get(certSha256);
    if (!rec) return undefined;
    const now = this.clock();
    if ((this.valid.get(certSha256) ?? 0) > now) return rec.orgId;
    const c = await this.ops.get({ serialHex: rec.serialHex });
    if (!c || c.status !== 0) return undefined;
    if (this.valid.size > 100_000) this.valid.clear();
    this.valid.set(certSha256, now + validityCacheMs);
    return rec.orgId;
  }
}

/**
 * The identity check of the MDM endpoints with the hub's own identities added: a certificate from
 * the operator's identity CAs (HUB_IOS_IDENTITY_CA_FILE) as before, or one the hub issued for an
 * enrollment profile and has not revoked. The hub's CAs also sign the EnOS devices' certificates:
 * those chain but are not identities it issued, and stay refused. The hub's identities come in
 * with Mdm-Signature or as the TLS client certificate (HUB_IOS_MDM_TLS_PORT), checked alike.
 */
export class HubIssuedIdentityVerifier extends IdentityVerifier {
  constructor(
    private readonly operatorCaCount: number,
    operatorCaPems: string[],
    private readonly hub: IdentityVerifier,
    private readonly issuer: HubIdentityIssuer,
    clock: () => number = Date.now,
  ) {
    super(operatorCaPems, clock);
  }

  override async fromMdmSignature(headerValue: string, body: Buffer): Promise<DeviceIdentity> {
    if (this.operatorCaCount === 0) return this.issuedByHub(await this.hub.fromMdmSignature(headerValue, body));
    let refusal: Error;
    try {
      return await super.fromMdmSignature(headerValue, body);
    } catch (err) {
      if (!(err instanceof Error)) throw new Error(String(err), { cause: err });
      refusal = err;
    }
    const identity = await this.hub.fromMdmSignature(headerValue, body).catch(() => undefined);
    if (!identity) throw refusal;
    return this.issuedByHub(identity, refusal);
  }

  /** The TLS client certificate: the operator's CAs first, then an identity the hub issued and has not revoked. */
  override async fromClientCertificate(der: Buffer): Promise<DeviceIdentity> {
    if (this.operatorCaCount === 0) return this.issuedByHub(await this.hub.fromClientCertificate(der));
    let refusal: Error;
    try {
      return await super.fromClientCertificate(der);
    } catch (err) {
      if (!(err instanceof Error)) throw new Error(String(err), { cause: err });
      refusal = err;
    }
    const identity = await this.hub.fromClientCertificate(der).catch(() => undefined);
    if (!identity) throw refusal;
    return this.issuedByHub(identity, refusal);
  }

  private async issuedByHub(identity: DeviceIdentity, refusal?: Error): Promise<DeviceIdentity> {
    if ((await this.issuer.orgOf(identity.sha256)) !== undefined) return identity;
    if (refusal) throw refusal;
    throw mdmErrors.identityInvalid('certificate not issued by a trusted CA');
  }
}

function toArrayBuffer(buf: Buffer | Uint8Array): ArrayBuffer {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

const pkcs9FriendlyName = '1.2.840.113549.1.9.20';
const pkcs9LocalKeyId = '1.2.840.113549.1.9.21';
const x509CertificateBag = '1.2.840.113549.1.9.22.1';
const pbkdfIterations = 100_000;
const macIterations = 2048;

/**
 * A PKCS#12 (RFC 7292) with pkijs: the key in a shrouded key bag and the certificates in an
 * encrypted safe, both PBES2 (PBKDF2-HMAC-SHA-256, AES-256-CBC), integrity by HMAC-SHA-256. The
 * leaf and its key share a localKeyId so the device pairs them. `certDers` starts with the leaf.
 */
export async function buildPkcs12(pkcs8: ArrayBuffer, certDers: Buffer[], password: string, friendlyName: string): Promise<Buffer> {
  const pass = toArrayBuffer(Buffer.from(password, 'utf8'));
  const localKeyId = createHash('sha1').update(certDers[0]!).digest();
  const attributes = (withName: boolean) => [
    new pkijs.Attribute({ type: pkcs9LocalKeyId, values: [new asn1js.OctetString({ valueHex: toArrayBuffer(localKeyId) })] }),
    ...(withName ? [new pkijs.Attribute({ type: pkcs9FriendlyName, values: [new asn1js.BmpString({ value: friendlyName })] })] : []),
  ];
  const encryption = {
    password: pass,
    contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 },
    hmacHashAlgorithm: 'SHA-256',
    iterationCount: pbkdfIterations,
  };
  const keyBag = new pkijs.PKCS8ShroudedKeyBag({ parsedValue: pkijs.PrivateKeyInfo.fromBER(pkcs8) });
  await keyBag.makeInternalValues(encryption);
  const certBags = certDers.map(
    (der, i) =>
      new pkijs.SafeBag({
        bagId: '1.2.840.113549.1.12.10.1.3',
        bagValue: new pkijs.CertBag({
          certId: x509CertificateBag,
          certValue: new asn1js.OctetString({ valueHex: toArrayBuffer(der) }),
        }),
        ...(i === 0 ? { bagAttributes: attributes(true) } : {}),
      }),
  );
  const safe = new pkijs.AuthenticatedSafe({
    parsedValue: {
      safeContents: [
        { privacyMode: 1, value: new pkijs.SafeContents({ safeBags: certBags }) },
        {
          privacyMode: 0,
          value: new pkijs.SafeContents({
            safeBags: [new pkijs.SafeBag({ bagId: '1.2.840.113549.1.12.10.1.2', bagValue: keyBag, bagAttributes: attributes(true) })],
          }),
        },
      ],
    },
  });
  await safe.makeInternalValues({ safeContents: [encryption, {}] });
  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe: safe } });
  await pfx.makeInternalValues({ password: pass, iterations: macIterations, pbkdf2HashAlgorithm: 'SHA-256', hmacHashAlgorithm: 'SHA-256' });
  return Buffer.from(pfx.toSchema().toBER(false));
}
