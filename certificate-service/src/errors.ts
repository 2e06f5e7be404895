/**
 * Every refusal of the certificate service carries a stable `code`. The hub maps codes to EnOS
 * answers (docs/ENOS-PROTOCOL.md §7.3: a bad CSR, a duplicate subject or a too large validDay are all
 * 99400 there); the standalone server maps them to HTTP statuses; nobody parses messages.
 */
export const certificateErrorCodes = {
  /** The input holds no `CERTIFICATE REQUEST` PEM block (DER, a certificate, random text…). */
  'csr.not_pem': 400,
  /** Larger than the PEM size cap: refused before any parsing. */
  'csr.too_large': 400,
  /** PEM, but the content is not a PKCS#10 structure. */
  'csr.malformed': 400,
  /** The CSR's self-signature does not verify with its own public key. */
  'csr.invalid_signature': 400,
  /** Signature or key algorithm outside the allow-list (MD2/MD4/MD5/SHA-1, DSA, Ed25519, RSA-PSS, other curves). */
  'csr.unsupported_algorithm': 400,
  /** RSA modulus below 2048 bits. */
  'csr.weak_key': 400,
  /** C, ST, L, O, OU or CN absent (§6: all mandatory). */
  'csr.subject_missing': 400,
  /** A subject attribute is repeated, too long, empty, or not allowed. */
  'csr.subject_invalid': 400,
  /** C, ST or O differ from the root CA's (§6). */
  'csr.subject_mismatch': 400,
  /** Another valid certificate of the same organization already has this CN (§6 "Duplicate subject by certificate request"). */
  'csr.duplicate_cn': 409,
  /** A renewal's CSR names another CN than the certificate it renews (§6: renewal keeps the CN). */
  'csr.cn_changed': 400,
  /** validDay is not a positive integer. */
  'csr.valid_day_invalid': 400,
  /** validDay above the product's maxValidDay (§6, EnOS answers 99400). */
  'csr.valid_day_too_large': 400,
  /** A request parameter other than the CSR is wrong (authority, binding, serial format). */
  'request.invalid': 400,
  /** The revocation reason is not one of §6 (0, 1, 3, 4, 5, 6, 9). */
  'revoke.invalid_reason': 400,
  /** No certificate with that serial. */
  'cert.not_found': 404,
  /** Revoking a certificate that is already revoked. */
  'cert.already_revoked': 409,
  /** Renewing a revoked certificate: its key may be compromised, apply for a new one instead. */
  'cert.revoked': 409,
  /** The issuing CA has expired (or the operator supplied one that has). */
  'ca.expired': 500,
  /** The CA material on disk or in the configuration is unusable. */
  'ca.invalid': 500,
  /** The store cannot be used (corrupt log, failed write). */
  'store.failed': 500,
  /** Another running process holds the embedded store (`certificates.lock`): this one refuses to open it. */
  'store.locked': 500,
  /** A call to the standalone server was not authenticated (remote client only). */
  'auth.unauthorized': 401,
  /** The standalone server answered something the client cannot use (remote client only). */
  'remote.failed': 502,
} as const;

export type CertificateErrorCode = keyof typeof certificateErrorCodes;

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The HTTP status the standalone server answers with. */
  get httpStatus(): number {
    return certificateErrorCodes[this.code];
  }
}

export function isCertificateErrorCode(code: unknown): code is CertificateErrorCode {
  return typeof code === 'string' && Object.hasOwn(certificateErrorCodes, code);
}
