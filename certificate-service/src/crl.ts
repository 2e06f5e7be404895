import * as asn1js from 'asn1js';
import type { CertificateAuthority } from './authority/load.js';
import { pkijs } from './crypto.js';
import { CertificateError } from './errors.js';
import type { Logger } from './logger.js';
import { issueAuthorities, type CertificateStore, type IssueAuthority } from './store/port.js';

/** The CAs that publish a CRL: both issuing CAs, and the root when its key is at hand. */
export type CrlName = IssueAuthority | 'root';

export interface PublishedCrl {
  der: Uint8Array;
  thisUpdate: Date;
  nextUpdate: Date;
  /** The CRL number (decimal string: it is a ms timestamp, beyond 32 bits). */
  number: string;
}

const OID_CRL_REASON = '2.5.29.21';
const OID_CRL_NUMBER = '2.5.29.20';
const OID_AKI = '2.5.29.35';

/**
 * One CRL per issuing CA, signed by that CA, and the root's (signed by the root, listing no issuing
 * CA: it lets `openssl verify -crl_check_all` and other full-chain checkers complete), rebuilt from the store after every revocation and
 * on a timer at half its lifetime, so a relying party that honours nextUpdate never holds a stale one.
 * Rebuilds per CA run one after another: each reads the store when it starts, so the last one
 * always reflects every revocation acknowledged before it.
 */
export class CrlPublisher {
  private readonly current = new Map<CrlName, PublishedCrl>();
  private readonly chains = new Map<CrlName, Promise<PublishedCrl>>();
  private lastNumber = 0n;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly authority: CertificateAuthority,
    private readonly store: CertificateStore,
    private readonly o: { lifetimeMs: number; now: () => Date; logger: Logger },
  ) {}

  /** The CRLs this CA publishes. */
  get names(): CrlName[] {
    return this.authority.root.signingKey ? [...issueAuthorities, 'root'] : [...issueAuthorities];
  }

  /**
   * Keeps the CRLs fresh until stop(). Each is built on its first request (get), not here: signing
   * three CRLs was a visible part of every start of the hub and the service (docs/BENCHMARKS.md,
   * "Start-up"), for documents nobody may ask for before the next timer tick.
   */
  start(): Promise<void> {
    this.timer = setInterval(
      () => {
        for (const a of this.names) {
          this.regenerate(a).catch((err: unknown) =>
            this.o.logger.error(`certificate service: scheduled ${a} CRL rebuild failed: ${String(err)}`),
          );
        }
      },
      Math.max(1000, this.o.lifetimeMs / 2),
    );
    this.timer.unref();
    return Promise.resolve();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The current CRL; rebuilt first if none exists yet or it is past half its life (timer missed, clock jump). */
  async get(authority: CrlName): Promise<PublishedCrl> {
    const crl = this.current.get(authority);
    const now = this.o.now().getTime();
    // A CRL dated in the future (the clock went back) would be refused as "not yet valid": rebuild it.
    if (crl && now >= crl.thisUpdate.getTime() && now < crl.thisUpdate.getTime() + this.o.lifetimeMs / 2) return crl;
    // None yet but one being built (concurrent first requests, the timer): that one, not a second build.
    const building = crl ? undefined : this.chains.get(authority);
    if (building) return building.catch(() => this.regenerate(authority));
    return this.regenerate(authority);
  }

  regenerate(authority: CrlName): Promise<PublishedCrl> {
    const previous = this.chains.get(authority) ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(() => this.build(authority));
    this.chains.set(authority, next);
    return next;
  }

  private async build(authority: CrlName): Promise<PublishedCrl> {
    const issuer = authority === 'root' ? this.rootIssuer() : this.authority.issuers[authority];
    // The root signs only the two issuing CAs, which this service never revokes.
    const revoked = authority === 'root' ? [] : await this.store.find({ issueAuthority: authority, revoked: true });
    const thisUpdate = this.o.now();
    const nextUpdate = new Date(thisUpdate.getTime() + this.o.lifetimeMs);
    // Monotonic across restarts without persisting a counter: a millisecond clock only moves on.
    const number = (this.lastNumber = BigInt(Math.max(Number(this.lastNumber) + 1, thisUpdate.getTime())));

    const crl = new pkijs.CertificateRevocationList();
    crl.version = 1; // v2: required for extensions
    crl.issuer = pkijs.Certificate.fromBER(issuer.cert.rawData).subject;
    crl.thisUpdate = time(thisUpdate);
    crl.nextUpdate = time(nextUpdate);
    if (revoked.length > 0) {
      crl.revokedCertificates = revoked.map(
        (r) =>
          new pkijs.RevokedCertificate({
            userCertificate: asn1js.Integer.fromBigInt(BigInt('0x' + r.serialHex)),
            revocationDate: time(r.revocation!.at),
            // RFC 5280 §5.3.1: "unspecified" (0) is expressed by leaving the reason code out.
            ...(r.revocation!.reason !== 0
              ? {
                  crlEntryExtensions: new pkijs.Extensions({
                    extensions: [
                      new pkijs.Extension({
                        extnID: OID_CRL_REASON,
                        critical: false,
                        extnValue: new asn1js.Enumerated({ value: r.revocation!.reason }).toBER(false),
                      }),
                    ],
                  }),
                }
              : {}),
          }),
      );
    }
    crl.crlExtensions = new pkijs.Extensions({
      extensions: [
        new pkijs.Extension({
          extnID: OID_AKI,
          critical: false,
          extnValue: new pkijs.AuthorityKeyIdentifier({
            keyIdentifier: new asn1js.OctetString({ valueHex: Buffer.from(issuer.keyId, 'hex') }),
          })
            .toSchema()
            .toBER(false),
        }),
        new pkijs.Extension({ extnID: OID_CRL_NUMBER, critical: false, extnValue: asn1js.Integer.fromBigInt(number).toBER(false) }),
      ],
    });
    await crl.sign(issuer.signingKey, 'SHA-256');
    const published: PublishedCrl = {
      der: new Uint8Array((crl.toSchema(true) as asn1js.Sequence).toBER(false)),
      thisUpdate,
      nextUpdate,
      number: number.toString(),
    };
    this.current.set(authority, published);
    return published;
  }

  private rootIssuer(): {
    cert: CertificateAuthority['root']['cert'];
    signingKey: NonNullable<CertificateAuthority['root']['signingKey']>;
    keyId: string;
  } {
    const root = this.authority.root;
    if (!root.signingKey) return noRootKey();
    return { cert: root.cert, signingKey: root.signingKey, keyId: root.keyId };
  }
}

function noRootKey(): never {
  throw new CertificateError(
    'cert.not_found',
    'no root CRL: the root CA key is not available to this service (operator-supplied CA without its root key)',
  );
}

/** RFC 5280 §5.1.2.4: UTCTime through 2049, GeneralizedTime from 2050. */
function time(value: Date): pkijs.Time {
  return new pkijs.Time({ type: value.getUTCFullYear() < 2050 ? pkijs.TimeType.UTCTime : pkijs.TimeType.GeneralizedTime, value });
}
