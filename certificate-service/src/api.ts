import type { SerialRef } from './serial.js';
import type { DeviceBinding, IssueAuthority, RevocationReason } from './store/port.js';

/**
 * The operations the hub calls, the same whether the service runs in-process
 * (`openCertificateService`) or standalone behind HTTP (`connectCertificateService`).
 * Refusals reject with CertificateError (stable `code`, see errors.ts).
 */
export interface CertificateOperations {
  /** §7.3 apply: sign a device's PKCS#10 CSR and bind the certificate to the device. */
  issue(request: IssueRequest): Promise<IssueResult>;
  /** §7.3 renew: a new certificate for the same device, from a new CSR or the previous one's CSR. */
  renew(request: RenewRequest): Promise<IssueResult>;
  /** §7.3 revoke, with a §6 reason; the CRL and every revocation listener are updated before it resolves. */
  revoke(request: RevokeRequest): Promise<IssuedCertificate>;
  /** One certificate, or undefined (also when `scope` does not match: other tenants' certificates stay invisible). */
  get(ref: SerialRef & { scope?: Partial<DeviceBinding> }): Promise<IssuedCertificate | undefined>;
  /** §7.3 list, newest first, with the §6 status (expired certificates are reported as 2, not yet valid ones as 3). */
  list(filter?: ListFilter): Promise<IssuedCertificate[]>;
  /** The root, the issuing CAs and their chains, for `caCert` / `certChainURL` answers and TLS trust. */
  caCertificates(): Promise<CaCertificates>;
  /** Hex serials of every revoked certificate: the initial content of a TLS listener's revoked set. */
  revokedSerials(): Promise<string[]>;
  /** Called after every revocation made through this object; returns the unsubscribe function. */
  onRevoked(listener: (event: RevocationEvent) => void): () => void;
  /**
   * The revocation feed: every revocation, whoever made it, in order. Answers at once when there are
   * revocations after `after`, else waits up to `waitSeconds` (long poll). A different `epoch` (the
   * service restarted) or a position beyond the end answers the full list (`full: true`).
   */
  revocations(request: RevocationFeedRequest, signal?: AbortSignal): Promise<RevocationFeedPage>;
  /**
   * A TLS *server* certificate for the hub's MQTT listener, from the same CA devices trust
   * (docs/SECURITY.md "Certificates"): serverAuth, the given host names and addresses as SANs. Not
   * bound to a device, not listed, never renewed by the service: the hub re-issues it itself.
   */
  issueServerCertificate(request: ServerCertificateRequest): Promise<ServerCertificate>;
}

export interface ServerCertificateRequest {
  /** PKCS#10 from the server's own key: proves possession; only its public key is used. */
  csrPem: string;
  /** DNS names and IP addresses the server answers to (1 to 20). */
  hostnames: string[];
  /** RSA: an RSA key signed by the RSA CA; ECC: a P-256 key signed by the ECC CA. */
  issueAuthority: IssueAuthority;
  /** Default 90. */
  validDay?: number;
}

export interface ServerCertificate {
  certPem: string;
  /** The certificate then its issuing CA: what the TLS server sends. */
  chainPem: string;
  rootCertPem: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

export interface RevocationFeedRequest {
  /** Position after which to answer (0: from the start). */
  after: number;
  /** The epoch of the previous page; absent on the first call. */
  epoch?: string;
  /** How long to wait for a new revocation when there is none; default 0, at most 60. */
  waitSeconds?: number;
}

export interface RevocationFeedPage {
  /** Changes when the service restarts: positions of another epoch mean nothing. */
  epoch: string;
  /** Position of the last revocation in this page (pass it as `after` next time). */
  position: number;
  /** true: `serials` is every revoked serial; false: only those after `after`. */
  full: boolean;
  /** Canonical hex serials. */
  serials: string[];
}

export interface IssueRequest {
  /** PEM PKCS#10 (`-----BEGIN CERTIFICATE REQUEST-----`), at most 16 KB. */
  csrPem: string;
  /** Default "RSA", as on EnOS (§7.3). */
  issueAuthority?: IssueAuthority;
  /** Days of validity; the hub passes the request's validDay, else the product's defaultValidDay; default 730 (§6). */
  validDay?: number;
  /** The product's maxValidDay: a larger validDay is refused (csr.valid_day_too_large). */
  maxValidDay?: number;
  binding: DeviceBinding;
}

export type RenewRequest = SerialRef & {
  /** A new CSR; without it the previous certificate's CSR is signed again (§7.3 renew). */
  csrPem?: string;
  /** Default: the previous certificate's authority. */
  issueAuthority?: IssueAuthority;
  validDay?: number;
  maxValidDay?: number;
  /** When given, the previous certificate must match it (else cert.not_found). */
  scope?: Partial<DeviceBinding>;
};

export type RevokeRequest = SerialRef & {
  /** §6 reasons 0, 1, 3, 4, 5, 6, 9; default 0 (unspecified). */
  reason?: RevocationReason;
  scope?: Partial<DeviceBinding>;
};

/** §6 certStatus, plus 3 for a certificate whose notBefore is still ahead (never reported as valid). */
export type CertificateStatus = 0 | 1 | 2 | 3;
export const certificateStatus = { valid: 0, revoked: 1, expired: 2, notYetValid: 3 } as const;

export interface ListFilter {
  /** Every given field must match (e.g. `{ orgId }`, or a device's `{ productKey, deviceKey }`). */
  binding?: Partial<DeviceBinding>;
  status?: CertificateStatus;
  issueAuthority?: IssueAuthority;
  /** Only certificates whose notAfter is before this date (rotation: "expiring within N days"). */
  expiresBefore?: Date;
}

/** A certificate as the service reports it. */
export interface IssuedCertificate {
  /** EnOS certSN: the serial in decimal (a safe integer with the default serial size). */
  certSN: string;
  /** The serial in canonical hex (lowercase, no leading zeros), as TLS stacks and CRLs show it. */
  serialHex: string;
  binding: DeviceBinding;
  issueAuthority: IssueAuthority;
  status: CertificateStatus;
  /** In the CSR's RDN order. */
  subject: string;
  commonName: string;
  issuer: string;
  validDay: number;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
  certPem: string;
  renewedFrom?: string;
  revokedAt?: Date;
  revocationReason?: RevocationReason;
}

export interface IssueResult {
  certificate: IssuedCertificate;
  /** The issuing CA's certificate. */
  caCertPem: string;
  /** Issuing CA then root: what the device installs next to its certificate. */
  chainPem: string;
  rootCertPem: string;
}

export interface CaCertificates {
  rootPem: string;
  authorities: Record<IssueAuthority, { certPem: string; chainPem: string; crlUrl: string }>;
  /** §6: CSRs must carry exactly these C, ST and O. */
  subjectRules: { C: string; ST: string; O: string };
}

export interface RevocationEvent {
  certSN: string;
  serialHex: string;
  issueAuthority: IssueAuthority;
  binding: DeviceBinding;
  reason: RevocationReason;
  revokedAt: Date;
}
