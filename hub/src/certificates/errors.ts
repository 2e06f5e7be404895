/**
 * CertificateError codes (certificate-service/src/errors.ts) as EnOS answers (docs/ENOS-PROTOCOL.md
 * §7.3): EnOS refuses a bad CSR, a duplicate subject or a too large validDay all with 99400, so
 * every refusal caused by the request is 99400 with the service's message (it names the rule that
 * failed and never holds key material). Failures of the CA, its store or the channel to a standalone
 * service are not the caller's fault: they stay unexpected errors, logged with context by the REST
 * error handler and answered with the generic 99500.
 */
import { EnosError, codes } from '@edgehub/shared';
import { CertificateError, type CertificateErrorCode } from '@edgehub/certificate-service';

const enosCodes: Partial<Record<CertificateErrorCode, number>> = {
  'csr.not_pem': codes.invalidArgument,
  'csr.too_large': codes.invalidArgument,
  'csr.malformed': codes.invalidArgument,
  'csr.invalid_signature': codes.invalidArgument,
  'csr.unsupported_algorithm': codes.invalidArgument,
  'csr.weak_key': codes.invalidArgument,
  'csr.subject_missing': codes.invalidArgument,
  'csr.subject_invalid': codes.invalidArgument,
  'csr.subject_mismatch': codes.invalidArgument,
  // §6: "Duplicate subject by certificate request", 99400 on EnOS.
  'csr.duplicate_cn': codes.invalidArgument,
  'csr.cn_changed': codes.invalidArgument,
  'csr.valid_day_invalid': codes.invalidArgument,
  'csr.valid_day_too_large': codes.invalidArgument,
  'request.invalid': codes.invalidArgument,
  'revoke.invalid_reason': codes.invalidArgument,
  'cert.already_revoked': codes.invalidArgument,
  'cert.revoked': codes.invalidArgument,
  'cert.not_found': codes.notFound,
};

/** The EnOS code of a certificate service refusal, or undefined for an internal failure. */
export function enosCodeOf(code: CertificateErrorCode): number | undefined {
  return enosCodes[code];
}

/**
 * A CertificateError as the EnosError the REST layer answers with; anything else (including
 * internal CertificateErrors) is returned as it is, for the error handler to log and answer 99500.
 */
export function toEnosCertificateError(err: unknown): unknown {
  if (!(err instanceof CertificateError)) return err;
  const code = enosCodes[err.code];
  if (code === undefined) return err;
  return new EnosError(code, code === codes.invalidArgument ? `Invalid Argument: ${err.message}` : err.message);
}

/** Runs a certificate service call, answering its refusals with their EnOS codes. */
export async function certificateCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw toEnosCertificateError(err);
  }
}

/** §7.3: a certSn that names a certificate bound to another device of the org. */
export function boundElsewhere(certSN: string): EnosError {
  return new EnosError(codes.certificateBoundElsewhere, `Certificate ${certSN} is bound to another device`);
}
