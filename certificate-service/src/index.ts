/**
 * @edgehub/certificate-service — the CA behind certificate-based two-way authentication
 * (docs/ENOS-PROTOCOL.md §6, REST rows of §7.3). Runs embedded in the hub or standalone.
 *
 * ## Embedded (all-in-one)
 * ```ts
 * const certs = await openCertificateService({ dataDir: join(hubDataDir, 'certificates'), publicBaseUrl: 'https://hub.example:8080', logger });
 * const { certificate, caCertPem, chainPem, rootCertPem } = await certs.issue({
 *   csrPem, validDay: body.validDay ?? product.defaultValidDay, maxValidDay: product.maxValidDay,
 *   issueAuthority: body.issueAuthority ?? 'RSA', binding: { orgId, productKey, deviceKey, assetId },
 * });
 * // §7.3 apply answer: { cert: certificate.certPem, caCert: rootCertPem, certChainURL, certSN: certificate.certSN, issueAuthority }
 * await certs.renew({ certSN, validDay, scope: { orgId } });               // + csrPem, else the stored CSR is re-signed
 * await certs.revoke({ certSN, reason: 1, scope: { orgId } });
 * await certs.list({ binding: { orgId, productKey, deviceKey } });       // status 0 valid, 1 revoked, 2 expired
 * certs.isRevoked(tlsSocket.getPeerCertificate().serialNumber);          // sync, in memory
 * certs.onRevoked((e) => dropSessionsOf(e.binding));                     // after every revocation
 * (await certs.crl('RSA')).der;                                          // if the hub serves /crl/{RSA|ECC}.crl itself
 * ```
 * The hub then serves `GET /crl/RSA.crl` and `/crl/ECC.crl` at `publicBaseUrl` (the URL written into
 * every certificate's CRL distribution point), e.g. with `buildCertificateApp` or its own routes.
 *
 * ## Standalone
 * `node --import tsx certificate-service/src/main.ts` (config: config.ts), or `startCertificateServer(...)`.
 * The hub talks to it with `connectCertificateService({ baseUrl, sharedSecret })`, which implements
 * the same `CertificateOperations`; every call is HMAC-signed both ways (http/signing.ts).
 *
 * ## TLS listener
 * Trust `caCertificates()` → root + both issuing CAs; check revocation per handshake with
 * `certs.isRevoked(serial)` (embedded) or `RevocationSet.follow(client)` (standalone); then check
 * the certificate is bound to the device named in CONNECT (`get({ certSN }).binding`).
 *
 * ## Errors
 * Every refusal is a `CertificateError` with a stable `code` (errors.ts). Suggested EnOS mapping:
 * `csr.*`, `request.invalid`, `revoke.invalid_reason`, `cert.revoked`, `cert.already_revoked` → 99400;
 * `cert.not_found` → 99404; everything else → 99500.
 *
 * ## Store
 * `CertificateStore` (store/port.ts) is the persistence port; the default is an fsync'd JSON-lines
 * log. A MongoDB adapter must pass `certificateStoreContract` (test/store-contract.ts).
 */
export type {
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
export { certificateStatus } from './api.js';
export {
  openCertificateService,
  CertificateService,
  DEFAULT_SUPERSEDED_GRACE_HOURS,
  DEFAULT_VALID_DAY,
  type CertificateServiceOptions,
} from './service.js';
export {
  openCertificateAuthority,
  type CertificateAuthority,
  type CertificateAuthorityOptions,
  type IssuingCa,
  type OperatorCaFiles,
  type SubjectRules,
} from './authority/authority.js';
export { defaultCaSubject, type CaSubject } from './authority/names.js';
export { CertificateError, certificateErrorCodes, isCertificateErrorCode, type CertificateErrorCode } from './errors.js';
export { MAX_CSR_PEM_BYTES } from './csr.js';
export { DEFAULT_SERIAL_BITS, normalizeSerialHex, resolveSerial, type Serial, type SerialRef } from './serial.js';
export type { CrlName, PublishedCrl } from './crl.js';
export { RevocationSet } from './revocation-set.js';
export type { Logger } from './logger.js';
export {
  DuplicateSerialError,
  issueAuthorities,
  matchesQuery,
  revocationReasons,
  type CertificateQuery,
  type CertificateRecord,
  type CertificateStore,
  type DeviceBinding,
  type IssueAuthority,
  type Revocation,
  type RevocationReason,
  type RevokeOutcome,
} from './store/port.js';
export { openJsonlCertificateStore } from './store/jsonl.js';
export {
  startCertificateServer,
  buildCertificateApp,
  type CertificateServerOptions,
  type RunningCertificateServer,
} from './http/server.js';
export { connectCertificateService, type CertificateClientOptions } from './http/client.js';
export { publicCaRoutes, type PublicCaOptions } from './http/public-routes.js';
export { signatureHeaders, signRequest, requestSignature, responseSignature } from './http/signing.js';
