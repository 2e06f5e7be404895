import type { FastifyInstance } from 'fastify';
import { needs } from '../../device-management/guard.js';
import { DeviceMgtError } from '../../device-management/errors.js';
import { PushCertificateError } from '../../push/apns/push-certificate.js';
import type { PushCertificates } from '../../push/apns/push-certificates.js';
import { SecretKeyError } from '../../secrets/secret-box.js';

/**
 * Under /api/device-mgt/v1.0 (OAuth2, docs/DEVICE-MANAGEMENT.md, "Apple: push certificate"):
 *   PUT /ios/push-certificate  { certificate: PEM, privateKey?: PEM, force?: bool } → { topic, notAfter }
 *   GET /ios/push-certificate  → { topic, notAfter, uploadedAt, reminders }
 * The private key is never returned; it is stored sealed with the hub's secret key (docs/SECURITY.md,
 * "Secrets at rest"): without one (a cluster that was given none) the upload is 409. Another topic
 * than the current one → 409 unless force.
 */
export async function pushCertificateRoutes(app: FastifyInstance, opts: { certificates: PushCertificates }): Promise<void> {
  app.put(
    '/ios/push-certificate',
    {
      preHandler: needs('dm:devices:manage'),
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['certificate'],
          properties: {
            certificate: { type: 'string', minLength: 1, maxLength: 65_536 },
            privateKey: { type: 'string', maxLength: 65_536 },
            force: { type: 'boolean' },
          },
        },
      },
    },
    async (req) => {
      const body = req.body as { certificate: string; privateKey?: string; force?: boolean };
      try {
        const view = await opts.certificates.upload(body.certificate, body.privateKey, body.force ?? false);
        return { topic: view.topic, notAfter: new Date(view.notAfter).toISOString() };
      } catch (err) {
        if (err instanceof PushCertificateError) throw new DeviceMgtError(err.reason === 'TopicChanged' ? 409 : 400, err.message);
        if (err instanceof SecretKeyError) throw new DeviceMgtError(409, err.message);
        throw err;
      }
    },
  );
  app.get('/ios/push-certificate', { preHandler: needs('dm:devices:view') }, async () => {
    const rec = await opts.certificates.view();
    if (!rec) throw new DeviceMgtError(404, 'no APNs push certificate uploaded');
    const reminders = (await opts.certificates.listReminders()).filter((r) => r.notAfter === rec.notAfter).map((r) => r.thresholdDays);
    return {
      topic: rec.topic,
      notAfter: new Date(rec.notAfter).toISOString(),
      uploadedAt: new Date(rec.uploadedAt).toISOString(),
      reminders,
    };
  });
}
