/**
 * The device-management status of an operation on one device (docs/DEVICE-MANAGEMENT.md,
 * "Operation statuses"): the Entgra vocabulary the management REST shows for every device type.
 *   PENDING      queued, or handed to the device and not answered yet
 *   IN_PROGRESS  the device took it and reported it is still working on it
 *   COMPLETED    the device answered with success
 *   ERROR        the device answered with an error (or could not parse the command)
 *   NOTNOW       the device deferred it (Apple NotNow): it stays queued
 *   REPEATED     superseded: the same operation and parameters issued again while it still waited
 *   TIMEOUT      no answer before its deadline, or never delivered before it expired
 */
export const operationStatuses = ['PENDING', 'IN_PROGRESS', 'COMPLETED', 'ERROR', 'NOTNOW', 'REPEATED', 'TIMEOUT'] as const;
export type OperationStatus = (typeof operationStatuses)[number];

/** Statuses an operation can still leave. */
export const openOperationStatuses: readonly OperationStatus[] = ['PENDING', 'IN_PROGRESS', 'NOTNOW'];

/**
 * What a device said about a command, whatever its protocol. Each device type maps its wire
 * results onto these (Apple: Acknowledged, Error, CommandFormatError, NotNow; EnOS: a reply code).
 */
export type ResultOutcome = 'acknowledged' | 'error' | 'format-error' | 'not-now' | 'in-progress';

export function operationStatusOfOutcome(outcome: ResultOutcome): OperationStatus {
  switch (outcome) {
    case 'acknowledged':
      return 'COMPLETED';
    case 'error':
    case 'format-error':
      return 'ERROR';
    case 'not-now':
      return 'NOTNOW';
    case 'in-progress':
      return 'IN_PROGRESS';
  }
}
