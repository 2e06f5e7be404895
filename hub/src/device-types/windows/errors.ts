/**
 * Failures of the Windows endpoints (docs/DEVICE-MANAGEMENT.md, "Windows: errors"), each with the
 * HTTP status the device sees and a short reason. The enrollment endpoints answer them as SOAP
 * faults (with the MS-MDE2 fault subcode); the management endpoint as text. Messages never echo
 * a secret.
 */
export class WindowsProtocolError extends Error {
  constructor(
    readonly httpStatus: 400 | 401 | 403 | 410 | 413 | 415,
    readonly reason: string,
    message: string,
    /** The MS-MDE2 SOAP fault subcode for the enrollment endpoints. */
    readonly faultSubcode = 'MessageFormat',
  ) {
    super(message);
    this.name = 'WindowsProtocolError';
  }
}

export const windowsErrors = {
  malformedSyncMl: (detail: string) => new WindowsProtocolError(400, 'MalformedSyncML', `malformed SyncML: ${detail}`),
  malformedSoap: (detail: string) => new WindowsProtocolError(400, 'MalformedSoap', `malformed SOAP request: ${detail}`),
  badCertificateRequest: (detail: string) =>
    new WindowsProtocolError(400, 'CertificateRequest', `bad certificate request: ${detail}`, 'CertificateRequest'),
  tooLarge: (limit: number) => new WindowsProtocolError(413, 'TooLarge', `body larger than ${limit} bytes`),
  unsupportedMediaType: () => new WindowsProtocolError(415, 'UnsupportedMediaType', 'expected application/vnd.syncml.dm+xml'),
  unauthorized: () => new WindowsProtocolError(401, 'Unauthorized', 'device credentials missing or wrong', 'Authentication'),
  enrollmentRefused: () => new WindowsProtocolError(401, 'EnrollmentRefused', 'enrollment credentials wrong', 'Authentication'),
  enrollmentClosed: () =>
    new WindowsProtocolError(
      403,
      'EnrollmentClosed',
      'this hub enrolls no Windows devices (HUB_WINDOWS_ORG_ID is not set)',
      'Authorization',
    ),
  notEnrolled: () => new WindowsProtocolError(410, 'NotEnrolled', 'the device is not enrolled (disenrolled or removed)'),
};
