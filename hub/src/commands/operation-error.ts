/**
 * An error of the device-management domain with the HTTP status the management REST and the
 * device-facing routes answer with (docs/DEVICE-MANAGEMENT.md, "Errors"). Defined with the command
 * core, which refuses results for unknown or finished commands with it; the domain re-exports it.
 */
export class DeviceMgtError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 406 | 409 | 413 | 429 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'DeviceMgtError';
  }
}
