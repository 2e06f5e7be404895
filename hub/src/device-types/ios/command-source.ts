import type { PlistDict } from './plist-codec.js';

/** The statuses an Apple device reports for a command (docs/DEVICE-MANAGEMENT.md, "Apple: commands"). */
export const mdmResultStatuses = ['Acknowledged', 'Error', 'CommandFormatError', 'NotNow'] as const;
export type MdmResultStatus = (typeof mdmResultStatuses)[number];

export interface PulledCommand {
  commandUuid: string;
  /** The full command plist sent as the response body. */
  plist: string;
}

/**
 * What the iOS plugin needs from the command core: the device pulls its next command and reports
 * results. "Next" is in issue order; with skipNotNow, commands the device answered NotNow are left
 * out — that is how NotNow holds for the rest of one check-in session (the device's Idle starts a
 * session; a NotNow reply ends the command's turn until the next Idle).
 */
export interface MdmCommandSource {
  /**
   * `idle`: the device sent Idle, a new check-in session starts. `skipNotNow`: the device just
   * answered NotNow (the local queue's stateless rule; the core tracks sessions itself).
   */
  next(udid: string, turn: { idle: boolean; skipNotNow: boolean }): Promise<PulledCommand | undefined>;
  /** false when the device has no such outstanding command: nothing changes. */
  report(udid: string, commandUuid: string, status: MdmResultStatus, response: PlistDict): Promise<boolean>;
  /** A new Authenticate: what was queued for the old enrollment is not sent to the new one. */
  clear(udid: string): Promise<void>;
}
