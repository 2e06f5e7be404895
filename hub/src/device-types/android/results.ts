import type { ResultOutcome } from '../../commands/operation-status.js';
import { agentErrors } from './errors.js';
import { parseMonitorResponse } from './monitor.js';
import { androidOperations } from './operations.js';

/**
 * Operation results in the body of `PUT …/devices/{id}/pending-operations` (docs/DEVICE-MANAGEMENT.md,
 * "Android: agent protocol"): `null` or a list of the agent's Operation objects with their status.
 * Everything is checked before anything is stored: one bad entry refuses the whole request.
 */
export interface AgentResult {
  id: string;
  code: string;
  /** null for PENDING: the agent has it and said nothing yet (nothing changes). */
  outcome: ResultOutcome | null;
  /** The parsed operationResponse (JSON text parsed; MONITOR validated as compliance features). */
  response: unknown;
}

const outcomes: Record<string, ResultOutcome | null> = {
  COMPLETED: 'acknowledged',
  ERROR: 'error',
  IN_PROGRESS: 'in-progress',
  PENDING: null,
};

export const maxResultsPerRequest = 500;

function parseResponse(code: string, raw: unknown): unknown {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') return raw;
  if (raw.length > 256 * 1024) throw agentErrors.malformedResponse(code, 'larger than 256 KiB');
  const t = raw.trim();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      throw agentErrors.malformedResponse(code, 'not valid JSON');
    }
  }
  return raw;
}

/** Device information properties of a DEVICE_INFO response: `{properties: [{name, value}]}` → a map. */
export function deviceInfoProperties(response: unknown): Record<string, string> | undefined {
  if (response === null || typeof response !== 'object') return undefined;
  const props = (response as Record<string, unknown>)['properties'];
  if (!Array.isArray(props) || props.length > 100) return undefined;
  const out: Record<string, string> = {};
  for (const p of props as unknown[]) {
    if (p === null || typeof p !== 'object') return undefined;
    const { name, value } = p as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0 || name.length > 128) return undefined;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
    if (String(value).length > 4096) return undefined;
    out[name] = String(value);
  }
  return out;
}

export function parseAgentResults(body: unknown): AgentResult[] {
  if (body === null || body === undefined || body === '') return [];
  if (!Array.isArray(body)) throw agentErrors.malformed('the body is null or a list of operations');
  if (body.length > maxResultsPerRequest) throw agentErrors.malformed(`at most ${maxResultsPerRequest} results per request`);
  const seen = new Set<string>();
  return (body as unknown[]).map((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw agentErrors.malformed(`entry ${i} is not an operation`);
    const { id, code, status, operationResponse } = item as Record<string, unknown>;
    const idText = typeof id === 'number' && Number.isSafeInteger(id) ? String(id) : id;
    if (typeof idText !== 'string' || !/^[0-9]{1,32}$/.test(idText)) throw agentErrors.malformed(`entry ${i}: id must be an operation id`);
    if (seen.has(idText)) throw agentErrors.malformed(`entry ${i}: operation ${idText} reported twice`);
    seen.add(idText);
    if (typeof code !== 'string') throw agentErrors.malformed(`entry ${i}: code is required`);
    if (!androidOperations[code]) throw agentErrors.unknownCode(code);
    if (typeof status !== 'string' || !(status in outcomes)) throw agentErrors.unknownStatus(String(status));
    const outcome = outcomes[status] ?? null;
    let response = parseResponse(code, operationResponse);
    if (outcome === 'acknowledged' && code === 'MONITOR') {
      response = parseMonitorResponse(response);
      if (!response) throw agentErrors.malformedResponse(code, 'a list of {featureCode, compliance, message?} is required');
    }
    if (outcome === 'acknowledged' && code === 'DEVICE_INFO' && response !== undefined && !deviceInfoProperties(response)) {
      throw agentErrors.malformedResponse(code, '{properties: [{name, value}]} is required');
    }
    return { id: idText, code, outcome, response };
  });
}
