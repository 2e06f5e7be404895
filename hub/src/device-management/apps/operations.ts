import type { AppRecord, ReleaseRecord, SubscriptionAction } from './records.js';

/** The operation a subscription becomes on the devices of a release's platform. */
export interface AppOperation {
  code: 'INSTALL_APPLICATION' | 'UNINSTALL_APPLICATION';
  payload: Record<string, unknown>;
}

export interface AppOperationUrls {
  /** Signed download URL of the artifact (an uploaded file) or the release's external URL. */
  artifactUrl: string;
  /** Signed URL of the iOS manifest the hub serves for the release. */
  manifestUrl: string;
}

/**
 * Renders an install, update or uninstall in the generic operation vocabulary the device types
 * translate (docs/DEVICE-MANAGEMENT.md, "Applications: operations"):
 * - ios: INSTALL_APPLICATION `{ ManifestURL }` (the Apple InstallApplication command of an
 *   enterprise app), UNINSTALL_APPLICATION `{ Identifier }` (RemoveApplication);
 * - android: INSTALL_APPLICATION `{ appIdentifier, type: 'enterprise', url, version }`,
 *   UNINSTALL_APPLICATION `{ appIdentifier, type: 'enterprise' }` (the Entgra agent's JSON).
 * An update is an install of the newer release.
 */
export function appOperation(action: SubscriptionAction, r: ReleaseRecord, urls: AppOperationUrls): AppOperation {
  if (action === 'uninstall')
    return r.platform === 'ios'
      ? { code: 'UNINSTALL_APPLICATION', payload: { Identifier: r.packageName } }
      : { code: 'UNINSTALL_APPLICATION', payload: { appIdentifier: r.packageName, type: 'enterprise' } };
  return r.platform === 'ios'
    ? { code: 'INSTALL_APPLICATION', payload: { ManifestURL: urls.manifestUrl } }
    : {
        code: 'INSTALL_APPLICATION',
        payload: { appIdentifier: r.packageName, type: 'enterprise', url: urls.artifactUrl, version: r.version },
      };
}

/** The iOS over-the-air manifest of an enterprise release (a property list, built by the caller). */
export function iosManifest(app: AppRecord, r: ReleaseRecord, artifactUrl: string) {
  return {
    items: [
      {
        assets: [{ kind: 'software-package', url: artifactUrl }],
        metadata: { 'bundle-identifier': r.packageName, 'bundle-version': r.version, kind: 'software', title: app.name },
      },
    ],
  };
}
