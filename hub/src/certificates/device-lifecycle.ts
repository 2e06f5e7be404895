import type { CertificateOperations, Logger } from '@edgehub/certificate-service';
import type { RegistryEventBus } from '../registry/events.js';

/**
 * A deleted device's certificates are revoked (§6 reason 5, cessation of operation): nobody can
 * log in with them any more, and their CNs are free again for new devices (§6 CN uniqueness counts
 * valid certificates only). Returns the unsubscribe function.
 */
export function revokeCertificatesOfDeletedDevices(events: RegistryEventBus, ops: CertificateOperations, log: Logger): () => void {
  const onDeleted = (device: { orgId: string; assetId: string; productKey: string; deviceKey: string }) => {
    void (async () => {
      const scope = { orgId: device.orgId, assetId: device.assetId };
      // Valid (0) and not yet valid (3): everything that is neither revoked nor expired.
      for (const c of (await ops.list({ binding: scope })).filter((x) => x.status === 0 || x.status === 3)) {
        try {
          await ops.revoke({ certSN: c.certSN, reason: 5, scope });
          log.info(`certificates: revoked ${c.certSN} of deleted device ${device.productKey}/${device.deviceKey}`);
        } catch (err) {
          log.error(
            `certificates: revoking ${c.certSN} of deleted device ${device.productKey}/${device.deviceKey} failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
    })().catch((err: unknown) =>
      log.error(
        `certificates: listing the certificates of deleted device ${device.assetId} failed: ${err instanceof Error ? err.message : String(err)}`,
      ),
    );
  };
  events.on('deviceDeleted', onDeleted);
  return () => events.off('deviceDeleted', onDeleted);
}
