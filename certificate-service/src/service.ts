import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type {
  CaCertificates,
  CertificateOperations,
  CertificateStatus,
  IssuedCertificate,
  IssueRequest,
  IssueResult,
  ListFilter,
  RenewRequest,
  RevocationEvent,
  RevocationFeedPage,
  RevocationFeedRequest,
  RevokeRequest,
  ServerCertificate,
  ServerCertificateRequest,
} from './api.js';
import { openCertificateAuthority, type CertificateAuthority, type CertificateAuthorityOptions } from './authority/authority.js';
import { CrlPublisher, type CrlName, type PublishedCrl } from './crl.js';
import { decodeCsrPem, validateCsr, validateCsrKey, type ValidCsr } from './csr.js';
import { CertificateError } from './errors.js';
import { silentLogger, type Logger } from './logger.js';
import { buildLeaf, buildServerLeaf } from './profile.js';
import { DEFAULT_SERIAL_BITS, normalizeSerialHex, randomSerial, resolveSerial, type SerialRef } from './serial.js';
import { openJsonlCertificateStore } from './store/jsonl.js';
import {
  DuplicateSerialError,
  issueAuthorities,
  revocationReasons,
  type CertificateRecord,
  type CertificateStore,
  type DeviceBinding,
  type IssueAuthority,
  type RevocationReason,
} from './store/port.js';

export interface CertificateServiceOptions extends CertificateAuthorityOptions {
  /** Default: the embedded JSON-lines store at `{dataDir}/certificates.jsonl`. */
  store?: CertificateStore;
  /**
   * Base URL the CRLs are served under, embedded in every certificate as
   * `{publicBaseUrl}/crl/{issueAuthority}.crl`. A function is read at each issuance (the standalone
   * server's port may only be known after listen). Default http://localhost:8081.
   */
  publicBaseUrl?: string | (() => string);
  /** Random serial size; default 53 bits so certSN survives JSON numbers (see serial.ts). */
  serialBits?: number;
  /** CRL lifetime (nextUpdate - thisUpdate); rebuilt at half of it. Default 48 h. */
  crlLifetimeHours?: number;
  /**
   * How long a renewed certificate stays valid beside its successor before it is revoked with
   * reason 4 (superseded): the device's time to install the new one. Default 168 h (7 days); 0
   * revokes it as soon as the renewal is made.
   */
  supersededGraceHours?: number;
  /** How often superseded certificates past their grace are looked for. Default 10 minutes. */
  supersededSweepMs?: number;
}

const DAY_MS = 86_400_000;
/** §6 / §8: validDay defaults to 730. */
export const DEFAULT_VALID_DAY = 730;
/** docs/SECURITY.md "Certificates": a renewed certificate is revoked as superseded a week after its renewal. */
export const DEFAULT_SUPERSEDED_GRACE_HOURS = 168;
const BACKDATE_MS = 5 * 60_000;
/** The longest a revocation feed request may wait (long poll). */
export const MAX_FEED_WAIT_SECONDS = 60;
const reasonValues = new Set<number>(Object.values(revocationReasons));

/** Opens (or on first start creates) the CA and the store, builds the CRLs, and returns the in-process service. */
export async function openCertificateService(options: CertificateServiceOptions): Promise<CertificateService> {
  const logger = options.logger ?? silentLogger;
  const authority = await openCertificateAuthority({ ...options, logger });
  const ownsStore = options.store === undefined;
  const store = options.store ?? (await openJsonlCertificateStore(join(options.dataDir, 'certificates.jsonl')));
  try {
    const service = new CertificateService(authority, store, { ...options, logger }, ownsStore);
    await service.start();
    return service;
  } catch (err) {
    if (ownsStore) await store.close();
    throw err;
  }
}

/**
 * The certificate service in-process: what the hub embeds in all-in-one mode and what the
 * standalone server wraps. Besides CertificateOperations it answers `isRevoked` synchronously from
 * memory, for the TLS listener's per-handshake check.
 */
export class CertificateService implements CertificateOperations {
  private readonly revoked = new Set<string>();
  /** Every revoked serial in the order this process learned it: the revocation feed. */
  private readonly revocationLog: string[] = [];
  private readonly feedWaiters = new Set<() => void>();
  readonly epoch = randomUUID();
  private readonly listeners = new Set<(event: RevocationEvent) => void>();
  private readonly cnLocks = new Map<string, Promise<unknown>>();
  private readonly crls: CrlPublisher;
  private readonly now: () => Date;
  private readonly logger: Logger;
  private readonly serialBits: number;
  private readonly baseUrl: () => string;
  private readonly supersededGraceMs: number;
  private readonly supersededSweepMs: number;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(
    readonly authority: CertificateAuthority,
    readonly store: CertificateStore,
    options: Omit<CertificateServiceOptions, 'dataDir'>,
    private readonly ownsStore = false,
  ) {
    this.now = options.now ?? (() => new Date());
    this.logger = options.logger ?? silentLogger;
    this.serialBits = options.serialBits ?? DEFAULT_SERIAL_BITS;
    randomSerial(this.serialBits); // validates the setting at start, not at the first issuance
    const base = options.publicBaseUrl ?? 'http://localhost:8081';
    this.baseUrl = typeof base === 'function' ? base : () => base;
    this.crls = new CrlPublisher(authority, store, {
      lifetimeMs: (options.crlLifetimeHours ?? 48) * 3_600_000,
      now: this.now,
      logger: this.logger,
    });
    const graceHours = options.supersededGraceHours ?? DEFAULT_SUPERSEDED_GRACE_HOURS;
    if (!Number.isFinite(graceHours) || graceHours < 0)
      throw new RangeError(`supersededGraceHours must be a non-negative number, got ${graceHours}`);
    this.supersededGraceMs = graceHours * 3_600_000;
    this.supersededSweepMs = options.supersededSweepMs ?? 10 * 60_000;
  }

  /** Loads the revoked set, publishes the CRLs and starts retiring superseded certificates; openCertificateService calls it. */
  async start(): Promise<void> {
    const revoked = (await this.store.find({ revoked: true })).sort((a, b) => a.revocation!.at.getTime() - b.revocation!.at.getTime());
    for (const r of revoked) this.noteRevoked(r.serialHex);
    await this.crls.start();
    if (this.supersededSweepMs > 0) {
      this.sweepTimer = setInterval(() => void this.sweepSuperseded(), this.supersededSweepMs);
      this.sweepTimer.unref();
    }
    void this.sweepSuperseded();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    this.crls.stop();
    for (const wake of this.feedWaiters) wake();
    await this.sweeping?.catch(() => undefined);
    if (this.ownsStore) await this.store.close();
  }

  /**
   * Revokes (reason 4, superseded) every still valid certificate whose renewal is older than the
   * grace period (docs/SECURITY.md "Certificates"). Resolves with how many were revoked; runs never overlap.
   */
  retireSuperseded(): Promise<number> {
    this.sweeping ??= this.retire().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private async sweepSuperseded(): Promise<void> {
    try {
      await this.retireSuperseded();
    } catch (err) {
      this.logger.error(`certificate service: retiring superseded certificates failed (retried at the next sweep): ${String(err)}`);
    }
  }

  private async retire(): Promise<number> {
    const cutoff = this.now().getTime() - this.supersededGraceMs;
    const renewals = (await this.store.find({})).filter((r) => r.renewedFrom !== undefined && r.issuedAt.getTime() <= cutoff);
    let retired = 0;
    for (const successor of renewals) {
      const previous = await this.store.get(successor.renewedFrom!);
      if (!previous || previous.revocation) continue;
      try {
        await this.revoke({ serialHex: previous.serialHex, reason: revocationReasons.superseded });
        retired++;
        this.logger.info(
          `certificate service: revoked ${previous.certSN} of ${previous.binding.productKey}/${previous.binding.deviceKey} as superseded by ${successor.certSN}`,
        );
      } catch (err) {
        if (err instanceof CertificateError && err.code === 'cert.already_revoked') continue;
        throw err;
      }
    }
    return retired;
  }

  async issue(request: IssueRequest): Promise<IssueResult> {
    const o = requireObject(request, 'issue request');
    const issueAuthority = authorityOf(o.issueAuthority ?? 'RSA');
    const binding = bindingOf(o.binding);
    const validDay = validDayOf(o.validDay, o.maxValidDay);
    const csr = await validateCsr(decodeCsrPem(o.csrPem), this.authority.subjectRules);
    return this.sign(csr, { issueAuthority, validDay, binding });
  }

  async renew(request: RenewRequest): Promise<IssueResult> {
    const o = requireObject(request, 'renew request');
    const previous = await this.record(o, o.scope);
    if (previous.revocation)
      throw new CertificateError('cert.revoked', `certificate ${previous.certSN} is revoked; apply for a new certificate instead`);
    const issueAuthority = authorityOf(o.issueAuthority ?? previous.issueAuthority);
    const validDay = validDayOf(o.validDay, o.maxValidDay);
    // The stored CSR is checked again: the rules (or the CA's C/ST/O) may have changed since.
    const der = o.csrPem === undefined ? previous.csrDer : decodeCsrPem(o.csrPem);
    const csr = await validateCsr(der, this.authority.subjectRules);
    // §6: a renewal keeps the device's CN (a new key is fine, a new name is a new certificate: apply).
    if (csr.commonName !== previous.commonName) {
      throw new CertificateError(
        'csr.cn_changed',
        `a renewal keeps the CN: the CSR names "${csr.commonName}", certificate ${previous.certSN} is "${previous.commonName}"; apply for a new certificate instead`,
      );
    }
    const result = await this.sign(csr, { issueAuthority, validDay, binding: previous.binding, renewedFrom: previous });
    if (this.supersededGraceMs === 0) await this.sweepSuperseded();
    return result;
  }

  async revoke(request: RevokeRequest): Promise<IssuedCertificate> {
    const o = requireObject(request, 'revoke request');
    const reason = o.reason ?? 0;
    if (!reasonValues.has(reason))
      throw new CertificateError('revoke.invalid_reason', `revocation reason must be one of ${[...reasonValues].join(', ')} (§6)`);
    const target = await this.record(o, o.scope);
    const outcome = await this.store.revoke(target.serialHex, { reason, at: this.now() });
    if ('missing' in outcome) throw new CertificateError('cert.not_found', `no certificate ${target.certSN}`);
    if ('alreadyRevoked' in outcome) throw new CertificateError('cert.already_revoked', `certificate ${target.certSN} is already revoked`);
    const r = outcome.revoked;
    // Durable first, then the in-memory set and the feed, then listeners (the hub's TLS listener), then the CRL.
    this.noteRevoked(r.serialHex);
    const event: RevocationEvent = {
      certSN: r.certSN,
      serialHex: r.serialHex,
      issueAuthority: r.issueAuthority,
      binding: { ...r.binding },
      reason,
      revokedAt: r.revocation!.at,
    };
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error(`certificate service: a revocation listener threw: ${String(err)}`);
      }
    }
    try {
      await this.crls.regenerate(r.issueAuthority);
    } catch (err) {
      // The revocation stands (it is stored and in the revoked set); the timer retries the CRL.
      this.logger.error(`certificate service: rebuilding the ${r.issueAuthority} CRL after revoking ${r.certSN} failed: ${String(err)}`);
    }
    return this.view(r);
  }

  async get(ref: SerialRef & { scope?: Partial<DeviceBinding> }): Promise<IssuedCertificate | undefined> {
    const { serialHex } = resolveSerial(ref);
    const r = await this.store.get(serialHex);
    return r && inScope(r, ref.scope) ? this.view(r) : undefined;
  }

  async list(filter: ListFilter = {}): Promise<IssuedCertificate[]> {
    const records = await this.store.find({
      ...(filter.binding ? { binding: filter.binding } : {}),
      ...(filter.issueAuthority ? { issueAuthority: authorityOf(filter.issueAuthority) } : {}),
      ...(filter.status === undefined ? {} : { revoked: filter.status === 1 }),
    });
    return records
      .map((r) => this.view(r))
      .filter(
        (c) =>
          (filter.status === undefined || c.status === filter.status) &&
          (filter.expiresBefore === undefined || c.notAfter < filter.expiresBefore),
      )
      .sort((a, b) => b.issuedAt.getTime() - a.issuedAt.getTime() || (a.serialHex < b.serialHex ? -1 : 1));
  }

  async caCertificates(): Promise<CaCertificates> {
    const a = this.authority;
    const authority = (name: IssueAuthority) => ({
      certPem: a.issuers[name].certPem,
      chainPem: a.issuers[name].chainPem,
      crlUrl: this.crlUrl(name),
    });
    return { rootPem: a.root.certPem, authorities: { RSA: authority('RSA'), ECC: authority('ECC') }, subjectRules: { ...a.subjectRules } };
  }

  async revokedSerials(): Promise<string[]> {
    return [...this.revoked];
  }

  onRevoked(listener: (event: RevocationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async revocations(request: RevocationFeedRequest, signal?: AbortSignal): Promise<RevocationFeedPage> {
    const o = requireObject(request, 'revocation feed request');
    const after = o.after;
    if (typeof after !== 'number' || !Number.isSafeInteger(after) || after < 0)
      throw new CertificateError('request.invalid', 'after must be a non-negative integer');
    const waitSeconds = o.waitSeconds ?? 0;
    if (typeof waitSeconds !== 'number' || !Number.isFinite(waitSeconds) || waitSeconds < 0 || waitSeconds > MAX_FEED_WAIT_SECONDS) {
      throw new CertificateError('request.invalid', `waitSeconds must be a number from 0 to ${MAX_FEED_WAIT_SECONDS}`);
    }
    const page = (): RevocationFeedPage | undefined => {
      const position = this.revocationLog.length;
      if (o.epoch !== this.epoch || after > position) return { epoch: this.epoch, position, full: true, serials: [...this.revocationLog] };
      if (after < position) return { epoch: this.epoch, position, full: false, serials: this.revocationLog.slice(after) };
      return undefined;
    };
    const ready = page();
    if (ready || waitSeconds === 0 || signal?.aborted)
      return ready ?? { epoch: this.epoch, position: this.revocationLog.length, full: false, serials: [] };
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.feedWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, waitSeconds * 1000);
      this.feedWaiters.add(done);
      signal?.addEventListener('abort', done);
    });
    return page() ?? { epoch: this.epoch, position: this.revocationLog.length, full: false, serials: [] };
  }

  async issueServerCertificate(request: ServerCertificateRequest): Promise<ServerCertificate> {
    const o = requireObject(request, 'server certificate request');
    const issueAuthority = authorityOf(o.issueAuthority);
    const hostnames = serverNames(o.hostnames);
    const validDay = validDayOf(o.validDay ?? DEFAULT_SERVER_VALID_DAY, MAX_SERVER_VALID_DAY);
    const csr = await validateCsrKey(decodeCsrPem(o.csrPem));
    const keyType = csr.keyType;
    const issuer = this.authority.issuers[issueAuthority];
    if (keyType !== issuer.keyType)
      throw new CertificateError(
        'request.invalid',
        `the ${issueAuthority} CA signs ${issuer.keyType === 'rsa' ? 'RSA' : 'EC'} server keys; this CSR has an ${keyType === 'rsa' ? 'RSA' : 'EC'} key`,
      );
    const now = this.now();
    const caEnd = issuer.notAfter;
    if (caEnd.getTime() <= now.getTime() + DAY_MS)
      throw new CertificateError('ca.expired', `the ${issueAuthority} issuing CA expires ${caEnd.toISOString()}; it cannot issue`);
    const notBefore = new Date(Math.max(now.getTime() - BACKDATE_MS, issuer.notBefore.getTime()));
    const notAfter = new Date(Math.min(now.getTime() + validDay * DAY_MS, caEnd.getTime()));
    // Not in the device store: a long random serial keeps it apart from every device serial.
    const serialHex = randomSerial(127).serialHex;
    const cert = buildServerLeaf({
      csr,
      hostnames,
      issuer,
      serialHex,
      notBefore,
      notAfter,
      crlUrl: this.crlUrl(issueAuthority),
    });
    const certPem = cert.pem;
    this.logger.info(
      `certificate service: issued a ${issueAuthority} TLS server certificate for ${hostnames.map((h) => h.value).join(', ')} (serial ${serialHex}, until ${cert.notAfter.toISOString()})`,
    );
    return {
      certPem,
      chainPem: `${certPem}\n${issuer.certPem}\n`,
      rootCertPem: this.authority.root.certPem,
      serialHex,
      notBefore: cert.notBefore,
      notAfter: cert.notAfter,
    };
  }

  private noteRevoked(serialHex: string): void {
    if (this.revoked.has(serialHex)) return;
    this.revoked.add(serialHex);
    this.revocationLog.push(serialHex);
    for (const wake of [...this.feedWaiters]) wake();
  }

  /**
   * Synchronous, from memory: for the TLS listener on every handshake (no store or network round
   * trip). Takes the serial as any tool prints it (Node's `peerCertificate.serialNumber` is uppercase hex).
   */
  isRevoked(serialHex: string): boolean {
    return this.revoked.has(normalizeSerialHex(serialHex));
  }

  /** The current DER CRL of an issuing CA, or of the root ('root': cert.not_found when its key is not here). */
  async crl(name: CrlName): Promise<PublishedCrl> {
    return this.crls.get(name === 'root' ? 'root' : authorityOf(name));
  }

  crlUrl(issueAuthority: CrlName): string {
    return `${this.baseUrl().replace(/\/+$/, '')}/crl/${issueAuthority}.crl`;
  }

  private async record(ref: SerialRef, scope: Partial<DeviceBinding> | undefined): Promise<CertificateRecord> {
    const serial = resolveSerial(ref);
    const r = await this.store.get(serial.serialHex);
    if (!r || !inScope(r, scope)) throw new CertificateError('cert.not_found', `no certificate ${serial.certSN}`);
    return r;
  }

  /**
   * Everything after validation: CN uniqueness, serial, signature, durable record. A serial is drawn
   * only here, after every refusal that depends on the request, so a refused request leaves no trace.
   */
  private async sign(
    csr: ValidCsr,
    o: { issueAuthority: IssueAuthority; validDay: number; binding: DeviceBinding; renewedFrom?: CertificateRecord },
  ): Promise<IssueResult> {
    const issuer = this.authority.issuers[o.issueAuthority];
    return this.withCnLock(`${o.binding.orgId}\u0000${csr.commonName}`, async () => {
      const now = this.now();
      const caEnd = issuer.notAfter;
      if (caEnd.getTime() <= now.getTime() + DAY_MS)
        throw new CertificateError('ca.expired', `the ${o.issueAuthority} issuing CA expires ${caEnd.toISOString()}; it cannot issue`);
      await this.requireCnFree(csr.commonName, o.binding.orgId, now, o.renewedFrom);
      const notBefore = new Date(Math.max(now.getTime() - BACKDATE_MS, issuer.notBefore.getTime()));
      // §6: validity is validDay days, capped at the issuing CA's remaining lifetime.
      const notAfter = new Date(Math.min(now.getTime() + o.validDay * DAY_MS, caEnd.getTime()));
      for (let attempt = 0; attempt < 5; attempt++) {
        const serial = randomSerial(this.serialBits);
        if (await this.store.get(serial.serialHex)) continue;
        const cert = buildLeaf({
          csr,
          issuer,
          serialHex: serial.serialHex,
          notBefore,
          notAfter,
          crlUrl: this.crlUrl(o.issueAuthority),
        });
        const record: CertificateRecord = {
          serialHex: serial.serialHex,
          certSN: serial.certSN,
          binding: { ...o.binding },
          issueAuthority: o.issueAuthority,
          subject: csr.subject,
          commonName: csr.commonName,
          issuer: issuer.subject,
          validDay: o.validDay,
          notBefore: cert.notBefore,
          notAfter: cert.notAfter,
          issuedAt: now,
          certPem: cert.pem,
          csrDer: csr.der,
          ...(o.renewedFrom ? { renewedFrom: o.renewedFrom.serialHex } : {}),
        };
        try {
          await this.store.insert(record);
        } catch (err) {
          if (err instanceof DuplicateSerialError) continue;
          throw err;
        }
        return {
          certificate: this.view(record),
          caCertPem: issuer.certPem,
          chainPem: issuer.chainPem,
          rootCertPem: this.authority.root.certPem,
        };
      }
      throw new CertificateError('store.failed', 'could not allocate a unique serial');
    });
  }

  /**
   * §6: the CN is unique among the valid certificates of an organization ("Duplicate subject by
   * certificate request"); another organization's certificates never block a name, so no tenant
   * can squat the names another needs. A renewal may reuse its own CN while the old certificate is
   * still valid, as long as every valid holder of the CN is bound to the same device.
   */
  private async requireCnFree(commonName: string, orgId: string, now: Date, renewedFrom: CertificateRecord | undefined): Promise<void> {
    const holders = (await this.store.find({ commonName, revoked: false, binding: { orgId } })).filter(
      (r) => r.notAfter.getTime() > now.getTime(),
    );
    const blocking = renewedFrom ? holders.filter((r) => !sameBinding(r.binding, renewedFrom.binding)) : holders;
    if (blocking.length > 0) {
      throw new CertificateError(
        'csr.duplicate_cn',
        `Duplicate subject by certificate request: CN "${commonName}" is used by another valid certificate of the organization`,
      );
    }
  }

  /** Check-then-insert of a CN runs one at a time per CN (different CNs proceed in parallel). */
  private async withCnLock<T>(commonName: string, work: () => Promise<T>): Promise<T> {
    const previous = this.cnLocks.get(commonName) ?? Promise.resolve();
    const current = previous.catch(() => undefined).then(work);
    this.cnLocks.set(commonName, current);
    try {
      return await current;
    } finally {
      if (this.cnLocks.get(commonName) === current) this.cnLocks.delete(commonName);
    }
  }

  private view(r: CertificateRecord): IssuedCertificate {
    const now = this.now().getTime();
    const status: CertificateStatus = r.revocation ? 1 : r.notAfter.getTime() <= now ? 2 : r.notBefore.getTime() > now ? 3 : 0;
    return {
      certSN: r.certSN,
      serialHex: r.serialHex,
      binding: { ...r.binding },
      issueAuthority: r.issueAuthority,
      status,
      subject: r.subject,
      commonName: r.commonName,
      issuer: r.issuer,
      validDay: r.validDay,
      notBefore: r.notBefore,
      notAfter: r.notAfter,
      issuedAt: r.issuedAt,
      certPem: r.certPem,
      ...(r.renewedFrom ? { renewedFrom: r.renewedFrom } : {}),
      ...(r.revocation ? { revokedAt: r.revocation.at, revocationReason: r.revocation.reason } : {}),
    };
  }
}

function requireObject<T>(value: T, what: string): T {
  if (value === null || typeof value !== 'object') throw new CertificateError('request.invalid', `${what} must be an object`);
  return value;
}

function authorityOf(value: unknown): IssueAuthority {
  if (!issueAuthorities.includes(value as IssueAuthority))
    throw new CertificateError('request.invalid', `issueAuthority must be "RSA" or "ECC"`);
  return value as IssueAuthority;
}

const BINDING_FIELDS = ['orgId', 'productKey', 'deviceKey', 'assetId'] as const;

function bindingOf(value: unknown): DeviceBinding {
  if (value === null || typeof value !== 'object')
    throw new CertificateError('request.invalid', 'binding {orgId, productKey, deviceKey, assetId} is required');
  const b = value as Record<string, unknown>;
  const out = {} as DeviceBinding;
  for (const f of BINDING_FIELDS) {
    const v = b[f];
    if (typeof v !== 'string' || v === '' || v.length > 256)
      throw new CertificateError('request.invalid', `binding.${f} must be a non-empty string`);
    out[f] = v;
  }
  return out;
}

function validDayOf(validDay: unknown, maxValidDay: unknown): number {
  const days = validDay ?? DEFAULT_VALID_DAY;
  if (typeof days !== 'number' || !Number.isSafeInteger(days) || days < 1)
    throw new CertificateError('csr.valid_day_invalid', 'validDay must be a positive integer');
  if (maxValidDay !== undefined && maxValidDay !== null) {
    if (typeof maxValidDay !== 'number' || !Number.isSafeInteger(maxValidDay) || maxValidDay < 1)
      throw new CertificateError('request.invalid', 'maxValidDay must be a positive integer');
    if (days > maxValidDay)
      throw new CertificateError('csr.valid_day_too_large', `validDay ${days} exceeds the maximum of ${maxValidDay} days`);
  }
  return days;
}

const DEFAULT_SERVER_VALID_DAY = 90;
const MAX_SERVER_VALID_DAY = 398;
const DNS_NAME = /^(?=.{1,253}$)(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function serverNames(value: unknown): { type: 'dns' | 'ip'; value: string }[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 20)
    throw new CertificateError('request.invalid', 'hostnames must list 1 to 20 names or addresses');
  return value.map((h: unknown) => {
    if (typeof h !== 'string') throw new CertificateError('request.invalid', 'each hostname must be a string');
    if (isIP(h)) return { type: 'ip' as const, value: h };
    if (!DNS_NAME.test(h)) throw new CertificateError('request.invalid', `not a DNS name or IP address: ${JSON.stringify(h).slice(0, 80)}`);
    return { type: 'dns' as const, value: h };
  });
}

function sameBinding(a: DeviceBinding, b: DeviceBinding): boolean {
  return BINDING_FIELDS.every((f) => a[f] === b[f]);
}

function inScope(r: CertificateRecord, scope: Partial<DeviceBinding> | undefined): boolean {
  if (!scope) return true;
  return BINDING_FIELDS.every((f) => scope[f] === undefined || r.binding[f] === scope[f]);
}

export type { RevocationReason };
