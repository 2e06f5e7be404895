/**
 * Failures of the Apple MDM endpoints, each with the HTTP status a device (or a proxy in front of
 * the hub) sees. The table lives in docs/DEVICE-MANAGEMENT.md ("Apple: errors"). The message is
 * safe for the wire: it never echoes a signature, a token or a certificate.
 */
export class MdmProtocolError extends Error {
  constructor(
    readonly httpStatus: 400 | 401 | 403 | 404 | 410 | 413 | 415,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'MdmProtocolError';
  }
}

export const mdmErrors = {
  malformedPlist: (detail: string) => new MdmProtocolError(400, 'MalformedPlist', `malformed plist: ${detail}`),
  tooLarge: (limit: number) => new MdmProtocolError(413, 'TooLarge', `body larger than ${limit} bytes`),
  unknownMessageType: (t: string) =>
    new MdmProtocolError(400, 'UnknownMessageType', `unknown MessageType ${JSON.stringify(t.slice(0, 64))}`),
  missingField: (field: string) => new MdmProtocolError(400, 'MissingField', `missing or invalid ${field}`),
  unknownStatus: (s: string) => new MdmProtocolError(400, 'UnknownStatus', `unknown Status ${JSON.stringify(s.slice(0, 64))}`),
  unknownCommand: () => new MdmProtocolError(400, 'UnknownCommandUUID', 'no such command for this enrollment'),
  identityMissing: () => new MdmProtocolError(401, 'IdentityMissing', 'no Mdm-Signature header and no client certificate'),
  identityInvalid: (detail: string) => new MdmProtocolError(401, 'IdentityInvalid', `device identity refused: ${detail}`),
  identityMismatch: () => new MdmProtocolError(403, 'IdentityMismatch', 'the certificate belongs to another enrollment'),
  topicMismatch: () => new MdmProtocolError(403, 'TopicMismatch', "Topic is not this server's push topic"),
  unknownEnrollment: () => new MdmProtocolError(404, 'UnknownEnrollment', 'no such enrollment'),
  notEnrolled: () => new MdmProtocolError(410, 'NotEnrolled', 'enrollment checked out or not completed'),
};
