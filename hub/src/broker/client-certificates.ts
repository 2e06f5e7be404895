import { normalizeSerialHex } from '@edgehub/certificate-service';
/**
 * What the TLS listener needs to authenticate devices by certificate (docs/ENOS-PROTOCOL.md §6): the
 * CAs to trust, an in-memory revocation check (never a network round trip per handshake), and the
 * device each certificate is bound to. Provided by the certificate service (hub/src/certificates).
 */
export interface ClientCertificatePolicy {
  /** Root and issuing CA certificates (PEM) the listener trusts for client certificates. */
  caPems: string[];
  isRevoked(serialHex: string): boolean;
  /** The device a valid certificate is bound to; undefined for unknown, revoked or expired ones. */
  boundDevice(serialHex: string): Promise<{ assetId: string } | undefined>;
  /** Called with the serial of every certificate revoked from now on; returns the unsubscribe function. */
  onRevoked(listener: (serialHex: string) => void): () => void;
}

/** A client certificate as presented in the TLS handshake. */
export interface PresentedCertificate {
  /** Lower-case hex without leading zeros. */
  serialHex: string;
  /** The chain verified against the trusted CAs and the certificate is within its validity. */
  trusted: boolean;
}

/**
 * A serial as the certificate service writes it (lower-case hex, no leading zeros): one rule, the
 * service's own, so that a session's serial and a revocation event's always compare equal.
 */
export function normalizeSerial(hex: string): string {
  try {
    return normalizeSerialHex(hex);
  } catch {
    return hex.toLowerCase();
  }
}
