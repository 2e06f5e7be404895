import { newCommandId, topics } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import type { UpstreamRouter } from '../router/router.js';
import { pushTo } from '../sessions/push.js';
import type { DeviceSession } from '../sessions/sessions.js';

export interface ActivationConfig {
  /** Resend `thing.activate.info` this often until the device replies. */
  retryMs: number;
  maxAttempts: number;
}

/**
 * Dynamic activation (docs/ENOS-PROTOCOL.md §2.5): after a securemode=3 CONNACK the hub pushes the
 * device its secret on `/ext/session/{pk}/{dk}/thing/activate/info` — unsolicited, since the C and
 * Node SDKs never subscribe to it — and resends until the device answers on `…/info_reply`.
 */
export function startActivation(
  session: DeviceSession,
  registry: Registry,
  router: UpstreamRouter,
  config: ActivationConfig,
  log: Logger,
): void {
  const { productKey, deviceKey } = session.device;
  const topic = topics.activateInfo(productKey, deviceKey);
  let attempts = 0;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    if (timer) clearTimeout(timer);
    router.off('deviceReply', onReply);
    session.client.conn.off('close', stop);
  };
  const onReply = (r: { session: DeviceSession; topic: { kind: string } }) => {
    if (r.session === session && r.topic.kind === 'activateInfo') {
      log.info({ assetId: session.device.assetId }, 'device activated');
      stop();
    }
  };
  const send = async () => {
    attempts++;
    const device = await registry.devices.find({ assetId: session.device.assetId });
    if (!device || session.client.closed) return stop();
    const message = {
      id: newCommandId(),
      version: '1.0',
      method: 'thing.activate.info',
      params: { assetId: device.assetId, productKey, deviceKey, deviceSecret: device.deviceSecret },
    };
    await pushTo(session, topic, message, 1).catch(() => undefined);
    if (attempts < config.maxAttempts) timer = setTimeout(() => void send(), config.retryMs);
    else stop();
  };
  router.on('deviceReply', onReply);
  session.client.conn.once('close', stop);
  void send().catch((err: unknown) => log.error({ err, assetId: session.device.assetId }, 'activation push failed'));
}
