import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Collection, Store } from '../../store/port.js';
import { ApnsClient } from '../../push/apns/apns-client.js';
import { MdmPusher, type MdmPusherOptions } from './mdm-pusher.js';
import type { MdmPushProvider, PushOutcome } from '../../push/apns/outcome.js';
import { PushCertificates, type PushCertificateRecord } from '../../push/apns/push-certificates.js';
import type { SecretKeyring } from '../../secrets/secret-key.js';
import { CommandParamsError } from './commands.js';
import { openIosEnrollments, type IosEnrollment } from './enrollments.js';
import { IdentityVerifier } from './identity.js';
import { LocalMdmQueue, type MdmOperationRecord } from './local-queue.js';
import { MdmService } from './mdm-service.js';
import { mdmRoutes } from './mdm.routes.js';

export interface IosPluginOptions {
  /** APNs base URL: https://api.push.apple.com, or the simulator's. */
  apnsUrl: string;
  /** Extra CA for the APNs server's certificate (the simulator's test CA). */
  apnsCaPem?: string;
  /** CAs that issue device identity certificates (Mdm-Signature signers / TLS clients). */
  identityCaPems: string[];
  maxConcurrentStreams?: number;
  push?: MdmPusherOptions;
  clock?: () => number;
  /** Seals the push certificate's private key in the store (docs/SECURITY.md, "Secrets at rest"). */
  secretKeyring: SecretKeyring;
}

/**
 * The Apple device type (docs/DEVICE-MANAGEMENT.md, "Apple MDM"): enrollments, the check-in and
 * command endpoints, the per-device command queue, and the APNs wake-up path. `enqueue` is what
 * the management side calls: it stores the command and queues one coalesced push.
 */
export class IosPlugin {
  readonly type = 'ios';
  private apns?: ApnsClient;

  private constructor(
    readonly enrollments: Collection<IosEnrollment>,
    readonly queue: LocalMdmQueue,
    readonly service: MdmService,
    readonly pusher: MdmPusher,
    readonly pushCertificates: PushCertificates,
    private readonly identity: IdentityVerifier,
    private readonly opts: IosPluginOptions,
    private topic: string | undefined,
  ) {}

  static async open(
    store: Store,
    log: Logger,
    opts: IosPluginOptions,
    onPush?: (udid: string, outcome: PushOutcome) => void,
  ): Promise<IosPlugin> {
    const clock = opts.clock ?? Date.now;
    const enrollments = await openIosEnrollments(store);
    const queue = await LocalMdmQueue.open(store, clock);
    const certs = await PushCertificates.open(store, log, clock, opts.secretKeyring);
    const current = await certs.current();
    // The service and the pusher read the plugin's topic and provider lazily: built after them.
    const built: { plugin?: IosPlugin } = {};
    const service = new MdmService(enrollments, queue, log, () => built.plugin?.topic, {}, clock);
    const pusher = new MdmPusher(enrollments, () => built.plugin?.provider(), log, opts.push, onPush);
    const p = new IosPlugin(
      enrollments,
      queue,
      service,
      pusher,
      certs,
      new IdentityVerifier(opts.identityCaPems, clock),
      opts,
      current?.topic,
    );
    built.plugin = p;
    certs.onChange((rec) => p.useCertificate(rec));
    if (current) p.useCertificate(current);
    return p;
  }

  /** Mounts PUT /mdm and PUT /mdm/checkin on a fastify instance (in their own scope). */
  async routes(app: FastifyInstance): Promise<void> {
    await app.register(mdmRoutes, { service: this.service, identity: this.identity });
  }

  /**
   * Queues a command for an enrolled device and wakes it. `code` is a generic operation code
   * (DEVICE_LOCK …) or an Apple RequestType. Throws CommandParamsError for bad parameters and
   * for a device that is not enrolled.
   */
  async enqueue(udid: string, code: string, params: Record<string, unknown> = {}): Promise<MdmOperationRecord> {
    const e = await this.enrollments.get(udid);
    if (!e || !e.enabled) throw new CommandParamsError('udid', 'no enrolled iOS device with this UDID');
    const rec = await this.queue.enqueue(udid, code, params, e.unlockToken ? { unlockToken: Buffer.from(e.unlockToken, 'base64') } : {});
    this.pusher.wake(udid);
    return rec;
  }

  async close(): Promise<void> {
    this.pusher.stop();
    await this.apns?.close();
  }

  private provider(): MdmPushProvider | undefined {
    return this.apns;
  }

  private useCertificate(rec: PushCertificateRecord): void {
    const old = this.apns;
    this.topic = rec.topic;
    this.apns = new ApnsClient({
      url: this.opts.apnsUrl,
      certPem: rec.certPem,
      keyPem: rec.keyPem,
      ...(this.opts.apnsCaPem ? { caPem: this.opts.apnsCaPem } : {}),
      ...(this.opts.maxConcurrentStreams ? { maxConcurrentStreams: this.opts.maxConcurrentStreams } : {}),
      ...(this.opts.clock ? { clock: this.opts.clock } : {}),
    });
    void old?.close();
  }
}
