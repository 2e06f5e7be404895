import { androidPolicyPlatform, iosPolicyPlatform, type PolicyPlatform } from '../device-management/policies/platforms.js';
import { androidOperations, validateOperation } from './android/operations.js';
import type { DeviceTypes } from './plugins.js';

/** Settings a device keeps (Entgra's policy features); one-off actions such as DEVICE_LOCK or WIPE_DATA are no policy. */
const androidPolicyFeatures = [
  'PASSCODE_POLICY',
  'CAMERA',
  'ENCRYPT_STORAGE',
  'WIFI',
  'VPN',
  'WEBCLIP',
  'BLACKLIST_APPLICATIONS',
  'NOTIFIER_FREQUENCY',
];

/**
 * The policy platform of each device type that is on (docs/DEVICE-MANAGEMENT.md, "Policies: per
 * device type"). Lives with the device types so the policy engine below them imports none.
 */
export function policyPlatforms(types: DeviceTypes): Map<string, PolicyPlatform> {
  const out = new Map<string, PolicyPlatform>();
  if (types.has('ios')) out.set('ios', iosPolicyPlatform());
  if (types.has('android')) {
    out.set(
      'android',
      androidPolicyPlatform({
        profileFeatures: androidPolicyFeatures.filter((code) => androidOperations[code]?.type === 'PROFILE'),
        checkBundle: (payload) => void validateOperation('POLICY_BUNDLE', payload),
      }),
    );
  }
  return out;
}
