import { createHash } from 'node:crypto';
import plist from 'plist';
import type { ComplianceFeature, ProfileFeature } from './records.js';

/** What a platform needs to know of the policy it publishes or checks. */
export interface PolicyView {
  id: string;
  version: number;
  policyName: string;
  compliance: string;
  features: readonly ProfileFeature[];
}

/** An operation as the command core takes it: a code of the device type and its parameters. */
export interface PolicyOperation {
  code: string;
  type: 'POLICY' | 'COMMAND' | 'PROFILE';
  payload: Record<string, unknown>;
}

/**
 * How policies reach one device type and how its answers are read (docs/DEVICE-MANAGEMENT.md,
 * "Policies: per device type"). The policy engine is the same for every type; only this differs.
 */
export interface PolicyPlatform {
  readonly deviceType: string;
  /** Why this feature cannot be part of a policy of this type, or undefined when it can. */
  refuse(feature: ProfileFeature): string | undefined;
  /** The operation that installs the policy (also the ENFORCE corrective operation). */
  bundle(policy: PolicyView): PolicyOperation;
  /** The operation that removes it from a device no longer under it. */
  revoke(policy: PolicyView): PolicyOperation;
  /** The monitoring request. */
  monitor(policy: PolicyView): PolicyOperation;
  /** Reads a monitoring answer: one entry per feature of the policy it says something about; undefined when unreadable. */
  evaluate(policy: PolicyView, answer: unknown): ComplianceFeature[] | undefined;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What the Android device type tells the policy engine (wired in hub/src/device-types/policy-platforms.ts). */
export interface AndroidPolicyOptions {
  /** The PROFILE operation codes a policy may hold (PASSCODE_POLICY, CAMERA, WIFI, …). */
  profileFeatures: readonly string[];
  /** Checks a POLICY_BUNDLE payload as the device type will at issue time; throws with the reason. */
  checkBundle(payload: Record<string, unknown>): void;
}

/**
 * Android (Entgra agent, docs/DEVICE-MANAGEMENT.md "Android: operations", "Android: MONITOR
 * results"): the policy goes as one POLICY_BUNDLE operation `{policyId, policyName, compliance,
 * features: [{featureCode, content}]}`; MONITOR (no payload) asks the agent to check it, and it
 * answers with `[{ featureCode, compliance, message? }]`, stored as the command's result data.
 */
export function androidPolicyPlatform(opts: AndroidPolicyOptions): PolicyPlatform {
  const known = new Set(opts.profileFeatures);
  const bundlePayload = (p: Pick<PolicyView, 'id' | 'policyName' | 'compliance' | 'features'>) => ({
    policyId: p.id,
    policyName: p.policyName,
    compliance: p.compliance,
    features: p.features.map((f) => ({ featureCode: f.featureCode, content: f.content })),
  });
  return {
    deviceType: 'android',
    refuse: (f) => {
      if (!known.has(f.featureCode)) return `${f.featureCode} is not a policy feature of device type android (${[...known].join(', ')})`;
      try {
        opts.checkBundle(bundlePayload({ id: 'check', policyName: 'check', compliance: 'ENFORCE', features: [f] }));
        return undefined;
      } catch (err) {
        return `${f.featureCode}: ${(err as Error).message}`;
      }
    },
    bundle: (p) => ({ code: 'POLICY_BUNDLE', type: 'POLICY', payload: bundlePayload(p) }),
    revoke: (p) => ({ code: 'POLICY_REVOKE', type: 'POLICY', payload: { policyId: p.id } }),
    monitor: () => ({ code: 'MONITOR', type: 'COMMAND', payload: {} }),
    evaluate: (p, answer) => readComplianceFeatures(p, answer),
  };
}

/** The per-feature answer of an agent, wherever it put it. */
export function readComplianceFeatures(p: PolicyView, answer: unknown, depth = 0): ComplianceFeature[] | undefined {
  if (depth > 3) return undefined;
  if (typeof answer === 'string') {
    try {
      return readComplianceFeatures(p, JSON.parse(answer) as unknown, depth + 1);
    } catch {
      return undefined;
    }
  }
  if (isRecord(answer)) {
    for (const key of ['payload', 'payLoad', 'operationResponse', 'features', 'complianceFeatures']) {
      if (answer[key] !== undefined) return readComplianceFeatures(p, answer[key], depth + 1);
    }
    return undefined;
  }
  if (!Array.isArray(answer)) return undefined;
  const wanted = new Set(p.features.map((f) => f.featureCode));
  const out: ComplianceFeature[] = [];
  for (const item of answer) {
    if (!isRecord(item) || typeof item.featureCode !== 'string' || !wanted.has(item.featureCode)) continue;
    const c = item.compliance ?? item.compliant;
    if (typeof c !== 'boolean') continue;
    out.push({
      featureCode: item.featureCode,
      compliance: c,
      ...(typeof item.message === 'string' ? { message: item.message.slice(0, 512) } : {}),
    });
  }
  return out;
}

/** iOS configuration payload types of the policy features an Apple device can take. */
export const iosPayloadTypes: Readonly<Record<string, string>> = Object.freeze({
  PASSCODE_POLICY: 'com.apple.mobiledevice.passwordpolicy',
  RESTRICTIONS: 'com.apple.applicationaccess',
  WIFI: 'com.apple.wifi.managed',
  VPN: 'com.apple.vpn.managed',
  EMAIL: 'com.apple.mail.managed',
  WEBCLIP: 'com.apple.webClip.managed',
});

type PlistScalar = string | number | boolean;
const isScalar = (v: unknown): v is PlistScalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Why the content cannot go into a configuration payload (plist scalars, arrays of them, or one level of dictionaries). */
function refuseContent(content: Record<string, unknown>, depth = 0): string | undefined {
  for (const [k, v] of Object.entries(content)) {
    if (k.startsWith('Payload')) return `content key ${k} is set by the hub`;
    if (isScalar(v)) continue;
    if (Array.isArray(v) && v.every(isScalar)) continue;
    if (depth === 0 && isRecord(v)) {
      const inner = refuseContent(v, 1);
      if (inner) return inner;
      continue;
    }
    return `content ${k}: strings, numbers, booleans, arrays of them, or a dictionary of them`;
  }
  return undefined;
}

/** A stable UUID for a payload of a policy version (the same bundle renders the same bytes). */
function uuidOf(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\0')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`.toUpperCase();
}

export const iosProfileIdentifier = (policyId: string) => `edgehub.policy.${policyId}`;

/** The configuration profile (.mobileconfig) carrying a policy's features as payloads. */
export function iosPolicyProfile(p: PolicyView): string {
  const id = iosProfileIdentifier(p.id);
  return plist.build({
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: id,
    PayloadUUID: uuidOf(id, String(p.version)),
    PayloadDisplayName: p.policyName,
    PayloadRemovalDisallowed: false,
    PayloadContent: p.features.map((f) => ({
      ...(f.content as Record<string, plist.PlistValue>),
      PayloadType: iosPayloadTypes[f.featureCode]!,
      PayloadVersion: 1,
      PayloadIdentifier: `${id}.${f.featureCode.toLowerCase()}`,
      PayloadUUID: uuidOf(id, String(p.version), f.featureCode),
      PayloadDisplayName: f.featureCode,
    })),
  });
}

/**
 * iOS (docs/DEVICE-MANAGEMENT.md "Policies: iOS"): the policy is one configuration profile, sent
 * with InstallProfile (installing it again replaces it: same identifier); monitoring asks
 * SecurityInfo, whose PasscodeCompliantWithProfiles (or PasscodeCompliant) decides PASSCODE_POLICY.
 * Other features are compliant while the profile is installed (SecurityInfo says nothing of them).
 */
export function iosPolicyPlatform(): PolicyPlatform {
  return {
    deviceType: 'ios',
    refuse: (f) =>
      iosPayloadTypes[f.featureCode] === undefined
        ? `${f.featureCode} is not a policy feature of device type ios (${Object.keys(iosPayloadTypes).join(', ')})`
        : refuseContent(f.content),
    bundle: (p) => ({
      code: 'INSTALL_PROFILE',
      type: 'PROFILE',
      payload: { Payload: Buffer.from(iosPolicyProfile(p)).toString('base64') },
    }),
    revoke: (p) => ({ code: 'REMOVE_PROFILE', type: 'PROFILE', payload: { Identifier: iosProfileIdentifier(p.id) } }),
    monitor: () => ({ code: 'SECURITY_INFO', type: 'COMMAND', payload: {} }),
    evaluate: (p, answer) => {
      const info = isRecord(answer) && isRecord(answer.SecurityInfo) ? answer.SecurityInfo : undefined;
      if (!info) return undefined;
      return p.features.map((f) => {
        if (f.featureCode !== 'PASSCODE_POLICY') return { featureCode: f.featureCode, compliance: true };
        const ok = info.PasscodeCompliantWithProfiles ?? info.PasscodeCompliant;
        return ok === true
          ? { featureCode: f.featureCode, compliance: true }
          : {
              featureCode: f.featureCode,
              compliance: false,
              message: info.PasscodePresent === false ? 'no passcode set' : 'passcode does not meet the policy',
            };
      });
    },
  };
}
