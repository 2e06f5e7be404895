/**
 * The store port: what the certificate service needs to remember issued certificates, nothing more.
 * The embedded adapter is an fsync'd JSON-lines log (./jsonl.ts); the hub can add a MongoDB adapter
 * that passes the same contract suite (test/store-contract.ts).
 */

export type IssueAuthority = 'RSA' | 'ECC';
export const issueAuthorities: readonly IssueAuthority[] = ['RSA', 'ECC'];

/** The device a certificate is bound to (§6: the binding is made by the apply API, by certSN). */
export interface DeviceBinding {
  orgId: string;
  productKey: string;
  deviceKey: string;
  assetId: string;
}

/** §6 revocation reasons (RFC 5280 CRLReason values; 2, 7, 8 and 10 are not offered by EnOS). */
export const revocationReasons = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
} as const;
export type RevocationReason = (typeof revocationReasons)[keyof typeof revocationReasons];

export interface Revocation {
  reason: RevocationReason;
  at: Date;
}

/** One issued certificate as stored. Status 2 (expired) is derived from `notAfter`, never stored. */
export interface CertificateRecord {
  /** Canonical hex serial (lowercase, no leading zeros): the key. */
  serialHex: string;
  /** The same serial in decimal, the EnOS certSN. */
  certSN: string;
  binding: DeviceBinding;
  issueAuthority: IssueAuthority;
  /** Subject as a string in the CSR's RDN order (display only; the certificate holds the DER). */
  subject: string;
  /** The CN, kept apart because §6 makes it unique among valid certificates. */
  commonName: string;
  issuer: string;
  /** The validDay the certificate was asked for; notAfter may be earlier (capped at the CA's end). */
  validDay: number;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
  certPem: string;
  /** The CSR as received (DER), so renew can re-issue from it (§7.3 renew without `csr`). */
  csrDer: Uint8Array;
  /** The certificate this one renewed, if any. */
  renewedFrom?: string;
  revocation?: Revocation;
}

export interface CertificateQuery {
  /** Every given field must match. */
  binding?: Partial<DeviceBinding>;
  commonName?: string;
  issueAuthority?: IssueAuthority;
  /** true: revoked only; false: not revoked only. */
  revoked?: boolean;
}

export type RevokeOutcome = { revoked: CertificateRecord } | { missing: true } | { alreadyRevoked: CertificateRecord };

export interface CertificateStore {
  /** Durable before it resolves. Rejects with DuplicateSerialError if the serial exists. */
  insert(record: CertificateRecord): Promise<void>;
  /** Sets the revocation if the certificate exists and is not revoked yet; durable before it resolves. */
  revoke(serialHex: string, revocation: Revocation): Promise<RevokeOutcome>;
  get(serialHex: string): Promise<CertificateRecord | undefined>;
  find(query: CertificateQuery): Promise<CertificateRecord[]>;
  count(): Promise<number>;
  close(): Promise<void>;
}

export class DuplicateSerialError extends Error {
  override readonly name = 'DuplicateSerialError';
  constructor(readonly serialHex: string) {
    super(`serial ${serialHex} already issued`);
  }
}

export function matchesQuery(record: CertificateRecord, query: CertificateQuery): boolean {
  if (query.commonName !== undefined && record.commonName !== query.commonName) return false;
  if (query.issueAuthority !== undefined && record.issueAuthority !== query.issueAuthority) return false;
  if (query.revoked !== undefined && (record.revocation !== undefined) !== query.revoked) return false;
  if (query.binding) {
    for (const [field, value] of Object.entries(query.binding) as [keyof DeviceBinding, string | undefined][]) {
      if (value !== undefined && record.binding[field] !== value) return false;
    }
  }
  return true;
}
