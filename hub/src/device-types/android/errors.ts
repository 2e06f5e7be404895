/**
 * Failures of the Android agent endpoints (docs/DEVICE-MANAGEMENT.md, "Android: errors"), answered
 * as `{code, reason, message}`. Messages never echo a token.
 */
export class AndroidAgentError extends Error {
  constructor(
    readonly httpStatus: 400 | 401 | 404 | 409 | 413,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'AndroidAgentError';
  }
}

export const agentErrors = {
  invalidToken: () => new AndroidAgentError(401, 'InvalidDeviceToken', 'a valid device bearer token from enrollment is required'),
  malformed: (detail: string) => new AndroidAgentError(400, 'MalformedBody', detail),
  unknownCode: (code: string) =>
    new AndroidAgentError(400, 'UnknownOperationCode', `${JSON.stringify(code.slice(0, 64))} is not an Android operation code`),
  unknownStatus: (status: string) =>
    new AndroidAgentError(400, 'UnknownStatus', `unknown operation status ${JSON.stringify(status.slice(0, 64))}`),
  unknownOperation: (id: string) => new AndroidAgentError(404, 'UnknownOperation', `no operation ${id.slice(0, 64)} for this device`),
  codeMismatch: (id: string) => new AndroidAgentError(400, 'CodeMismatch', `operation ${id.slice(0, 64)} has another code`),
  malformedResponse: (code: string, detail: string) =>
    new AndroidAgentError(400, 'MalformedResponse', `${code} operationResponse: ${detail}`),
};
