/**
 * The MONITOR result (docs/DEVICE-MANAGEMENT.md, "Android: MONITOR results"): the agent answers
 * MONITOR with one entry per feature of the policy it applied, saying whether the device complies.
 * The hub stores the parsed list as the command's `result.data`; the policy engine reads it there.
 */
export interface ComplianceFeature {
  /** The profile feature's operation code, e.g. PASSCODE_POLICY. */
  featureCode: string;
  compliance: boolean;
  /** Why not (free text from the device), when not compliant. */
  message?: string;
}

/** Parses a MONITOR operationResponse (JSON text or an already parsed list); undefined when malformed. */
export function parseMonitorResponse(response: unknown): ComplianceFeature[] | undefined {
  let value = response;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value) as unknown;
    } catch {
      return undefined;
    }
  }
  if (!Array.isArray(value) || value.length > 256) return undefined;
  const out: ComplianceFeature[] = [];
  for (const item of value as unknown[]) {
    if (item === null || typeof item !== 'object') return undefined;
    const { featureCode, compliance, message } = item as Record<string, unknown>;
    if (typeof featureCode !== 'string' || featureCode.length === 0 || featureCode.length > 128 || typeof compliance !== 'boolean')
      return undefined;
    if (message !== undefined && message !== null && (typeof message !== 'string' || message.length > 1024)) return undefined;
    out.push(typeof message === 'string' ? { featureCode, compliance, message } : { featureCode, compliance });
  }
  return out;
}
