import type { ResultOutcome } from '../../commands/operation-status.js';
import type { DeviceTypeFeature } from '../plugin.js';
import type { ServerSyncCommand } from './syncml.js';

/**
 * The core's operation codes as Windows configuration-service-provider nodes
 * (docs/DEVICE-MANAGEMENT.md, "Windows: operations"). Each operation is one SyncML command.
 */

/** What DEVICE_INFO reads: the standard DevInfo and DevDetail nodes. */
export const deviceInfoNodes = [
  './DevInfo/DevId',
  './DevInfo/Man',
  './DevInfo/Mod',
  './DevInfo/DmV',
  './DevInfo/Lang',
  './DevDetail/SwV',
  './DevDetail/OEM',
  './DevDetail/DevTyp',
  './DevDetail/Ext/Microsoft/DeviceName',
  './DevDetail/Ext/Microsoft/OSPlatform',
  './DevDetail/Ext/Microsoft/TotalRAM',
  './DevDetail/Ext/Microsoft/TotalStorage',
] as const;

interface OperationMapping {
  name: string;
  kind: 'Get' | 'Exec';
  nodes: readonly string[];
}

export const windowsOperations: Record<string, OperationMapping> = {
  DEVICE_LOCK: { name: 'RemoteLock', kind: 'Exec', nodes: ['./Vendor/MSFT/RemoteLock/Lock'] },
  WIPE_DATA: { name: 'RemoteWipe', kind: 'Exec', nodes: ['./Device/Vendor/MSFT/RemoteWipe/doWipe'] },
  DEVICE_RING: { name: 'RemoteRing', kind: 'Exec', nodes: ['./Vendor/MSFT/RemoteRing/Ring'] },
  DEVICE_REBOOT: { name: 'Reboot', kind: 'Exec', nodes: ['./Vendor/MSFT/Reboot/RebootNow'] },
  DEVICE_INFO: { name: 'DeviceInfo', kind: 'Get', nodes: deviceInfoNodes },
};

export const windowsFeatures: DeviceTypeFeature[] = Object.entries(windowsOperations).map(([code, m]) => ({
  code,
  name: m.name,
  description: `${m.kind} ${m.nodes.length === 1 ? m.nodes[0] : `${m.nodes.length} DevInfo/DevDetail nodes`}`,
}));

export class WindowsOperationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WindowsOperationError';
  }
}

/**
 * The SyncML command of an operation (CmdID = the command id, so a device's Status names the
 * command directly, whichever node serves the session). DEVICE_INFO takes an optional `nodes`
 * list limited to ./DevInfo and ./DevDetail.
 */
export function renderOperation(commandId: string, code: string, params: Record<string, unknown>): ServerSyncCommand {
  const m = windowsOperations[code];
  if (!m) throw new WindowsOperationError(`operation ${code} is not supported by Windows devices`);
  let nodes: readonly string[] = m.nodes;
  if (code === 'DEVICE_INFO' && params['nodes'] !== undefined) {
    const asked = params['nodes'];
    if (
      !Array.isArray(asked) ||
      asked.length === 0 ||
      asked.length > 64 ||
      !asked.every((n) => typeof n === 'string' && /^\.\/Dev(Info|Detail)(\/[A-Za-z0-9_.-]+)+$/.test(n))
    ) {
      throw new WindowsOperationError('nodes must be a list of ./DevInfo/… or ./DevDetail/… node names');
    }
    nodes = asked as string[];
  }
  return { kind: m.kind, cmdId: commandId, items: nodes.map((target) => ({ target })) };
}

/**
 * A SyncML status code as the core's outcome: 2xx success (200 OK, 202 accepted for processing,
 * 212 authenticated); 400/405/406/415 the device could not take the command as sent (format);
 * everything else (401, 403, 404, 500 …) an error.
 */
export function outcomeOfStatus(code: number): ResultOutcome {
  if (code >= 200 && code < 300) return 'acknowledged';
  if (code === 400 || code === 405 || code === 406 || code === 415) return 'format-error';
  return 'error';
}
