/**
 * The certificate service as the TLS listener's ClientCertificatePolicy (broker/client-certificates.ts):
 * trust the root and both issuing CAs, check revocation in memory on every handshake (issue 5: never
 * a network round trip), and look up the device a certificate is bound to.
 */
import { RevocationSet, type Logger } from '@edgehub/certificate-service';
import type { ClientCertificatePolicy } from '../broker/client-certificates.js';
import type { HubCertificates } from './open.js';

export interface ClosableClientCertificatePolicy extends ClientCertificatePolicy {
  close(): void;
}

export async function clientCertificatePolicy(certs: HubCertificates, log: Logger): Promise<ClosableClientCertificatePolicy> {
  const ca = await certs.ops.caCertificates();
  const caPems = [ca.rootPem, ca.authorities.RSA.certPem, ca.authorities.ECC.certPem];
  // Embedded: the service's own set, updated before revoke() resolves. Standalone: a set that
  // follows this hub's revocations at once and everybody else's through the service's revocation
  // feed, within about a second (docs/SECURITY.md "Certificates").
  const service = certs.service;
  const followed = service ? undefined : await RevocationSet.follow(certs.ops, { logger: log });
  const isRevoked = service ? (serialHex: string) => service.isRevoked(serialHex) : (serialHex: string) => followed!.has(serialHex);
  return {
    caPems,
    isRevoked,
    async boundDevice(serialHex) {
      const c = await certs.ops.get({ serialHex });
      // status: 0 valid, 1 revoked, 2 expired (§6)
      return c && c.status === 0 ? { assetId: c.binding.assetId } : undefined;
    },
    onRevoked(listener) {
      // Standalone: every serial the set learns, from this hub or from the feed, closes its sessions.
      if (followed) return followed.onAdded(listener);
      return certs.ops.onRevoked((e) => listener(e.serialHex));
    },
    close() {
      followed?.close();
    },
  };
}
