import { EventEmitter } from 'node:events';
import { randomBytes, randomUUID } from 'node:crypto';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import plist from 'plist';
import { ServerAnswerError, pollOnWake, sessionTry, type WakeEnd } from '../wake-retry.js';
import type { ApnsSimulator } from './apns-simulator.js';
import { MdmSigner } from './mdm-signature.js';
import type { Identity } from './pki.js';

type Dict = Record<string, plist.PlistValue>;

export interface IphoneAgentOptions {
  /** The profile's ServerURL (…/mdm) and optional CheckInURL. */
  serverUrl: string;
  checkInUrl?: string;
  topic: string;
  udid?: string;
  serialNumber?: string;
  identity: Identity;
  apns: ApnsSimulator;
  /** false: no Mdm-Signature (identity must then come from TLS, or the server refuses). */
  signMessage?: boolean;
  /**
   * For an https server URL: the CA to trust for the server's certificate; the phone presents its
   * identity as TLS client certificate (a profile with SignMessage false and the hub's mutual-TLS
   * listener), over one kept-alive connection as a phone keeps its own.
   */
  tls?: { caPem: string };
  /**
   * How the phone downloads an enterprise app's manifest (InstallApplication with ManifestURL);
   * default: fetch. Tests point it at the hub when the manifest URL names the hub's public host.
   */
  fetchManifest?: (url: string) => Promise<Response>;
  /**
   * A wake-up whose check-in session could not reach the server (a dropped connection, 429 or a 5xx
   * answer) is tried again this much later, the wait doubling up to 30 s, 20 tries in all
   * (simulators/src/wake-retry.ts), as a real phone comes back to its MDM server; 0: never (default
   * 500 ms).
   */
  retryMs?: number;
}

type ManifestInfo = { bundleId: string; title: string } | { failed: string };

export interface ExecutedCommand {
  commandUuid: string;
  requestType: string;
  status: 'Acknowledged' | 'Error' | 'CommandFormatError' | 'NotNow';
}

const supported = new Set([
  'DeviceLock',
  'EraseDevice',
  'DeviceInformation',
  'SecurityInfo',
  'ProfileList',
  'InstallProfile',
  'RemoveProfile',
  'InstalledApplicationList',
  'InstallApplication',
  'RemoveApplication',
  'RestartDevice',
  'ClearPasscode',
  'EnableLostMode',
  'DisableLostMode',
]);

/**
 * A simulated iPhone under MDM (docs/DEVICE-MANAGEMENT.md, "Apple: simulators"): enrolls with
 * Authenticate + TokenUpdate, registers its push token with the APNs simulator, and on a push
 * with its PushMagic runs a check-in session — Idle, then one result per command until the server
 * answers with an empty body — and emits `wake` with how the wake-up ended. While `busy` it answers
 * NotNow; unknown commands get Error, a command without RequestType gets CommandFormatError.
 */
export class IphoneAgent extends EventEmitter<{ executed: [ExecutedCommand]; sessionEnd: []; error: [unknown]; wake: [WakeEnd] }> {
  readonly udid: string;
  readonly serialNumber: string;
  readonly token = randomBytes(32);
  pushMagic = randomUUID().toUpperCase();
  busy = false;
  locked = false;
  erased = false;
  lostMode = false;
  /** Whether the passcode meets the installed profiles' passcode policy (SecurityInfo PasscodeCompliantWithProfiles). */
  passcodeCompliant = true;
  readonly profiles = new Set<string>(['com.example.mdm']);
  readonly apps = new Map<string, string>([['com.apple.mobilesafari', 'Safari']]);
  readonly executed: ExecutedCommand[] = [];
  private readonly signer: MdmSigner;
  private session?: Promise<void>;
  private followUp?: Promise<void>;

  constructor(readonly opts: IphoneAgentOptions) {
    super();
    this.udid = opts.udid ?? randomBytes(20).toString('hex');
    this.serialNumber = opts.serialNumber ?? `F${randomBytes(5).toString('hex').toUpperCase()}`;
    this.signer = new MdmSigner(opts.identity.certDer, opts.identity.privateKey);
  }

  get tokenHex(): string {
    return this.token.toString('hex');
  }

  async enroll(): Promise<void> {
    await this.checkin({
      MessageType: 'Authenticate',
      Topic: this.opts.topic,
      UDID: this.udid,
      SerialNumber: this.serialNumber,
      ProductName: 'iPhone15,2',
      OSVersion: '17.5',
      BuildVersion: '21F79',
      DeviceName: `iPhone ${this.serialNumber}`,
      Model: 'iPhone15,2',
    });
    this.attachPush();
    await this.checkin({
      MessageType: 'TokenUpdate',
      Topic: this.opts.topic,
      UDID: this.udid,
      Token: this.token,
      PushMagic: this.pushMagic,
      AwaitingConfiguration: false,
      UnlockToken: randomBytes(24),
    });
  }

  /** Registers the push token with the APNs simulator (enroll does this; a benchmark peer may alone). */
  attachPush(): void {
    this.opts.apns.register(this.tokenHex, (magic) => this.onPush(magic));
  }

  /** The MDM profile was removed: CheckOut, and APNs forgets the token. */
  async checkOut(): Promise<void> {
    this.opts.apns.unregister(this.tokenHex);
    await this.checkin({ MessageType: 'CheckOut', Topic: this.opts.topic, UDID: this.udid });
  }

  async checkin(msg: Dict): Promise<Response> {
    const res = await this.put(this.opts.checkInUrl ?? this.opts.serverUrl, plist.build(msg), 'application/x-apple-aspen-mdm-checkin');
    if (res.status !== 200) throw new Error(`check-in ${msg.MessageType as string} answered ${res.status}: ${await res.text()}`);
    await res.arrayBuffer();
    return res;
  }

  /** A raw PUT to the server, signed unless signMessage is false. */
  async put(url: string, body: string | Buffer, contentType?: string, signature?: string): Promise<Response> {
    const bytes = typeof body === 'string' ? Buffer.from(body) : body;
    const headers: Record<string, string> = {};
    if (contentType) headers['content-type'] = contentType;
    if (signature !== undefined) headers['mdm-signature'] = signature;
    else if (this.opts.signMessage !== false) headers['mdm-signature'] = await this.signer.sign(bytes);
    if (this.opts.tls) return this.putTls(url, bytes, headers, this.opts.tls.caPem);
    return fetch(url, { method: 'PUT', body: bytes, headers });
  }

  private tlsAgent?: HttpsAgent;

  /** The PUT over HTTPS with the identity as client certificate (node:https: fetch has no client certificates). */
  private putTls(url: string, body: Buffer, headers: Record<string, string>, caPem: string): Promise<Response> {
    this.tlsAgent ??= new HttpsAgent({
      keepAlive: true,
      maxSockets: 1,
      cert: this.opts.identity.certPem,
      key: this.opts.identity.keyPem,
      ca: caPem,
    });
    return new Promise<Response>((resolve, reject) => {
      const req = httpsRequest(
        url,
        { method: 'PUT', agent: this.tlsAgent, headers: { ...headers, 'content-length': body.length } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
            const status = res.statusCode ?? 0;
            resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers: h }));
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the phone's kept-alive TLS connection (the next request opens a new one). */
  disconnect(): void {
    this.tlsAgent?.destroy();
    this.tlsAgent = undefined;
  }

  /**
   * Runs a check-in session (what a push triggers) and resolves when the server has nothing more.
   * Called while a session runs, it queues one more session after it and resolves after that one.
   */
  poll(): Promise<void> {
    if (!this.session) {
      this.session = this.runSession().finally(() => {
        this.session = undefined;
      });
      return this.session;
    }
    this.followUp ??= this.session
      .catch(() => undefined)
      .then(() => {
        this.followUp = undefined;
        return this.poll();
      });
    return this.followUp;
  }

  private onPush(magic: string): void {
    if (magic !== this.pushMagic) return;
    // A wake-up is not lost to a dropped connection or a busy server: the session is tried again later.
    const session = () =>
      this.poll().catch((err: unknown) => {
        if (this.listenerCount('error') > 0) this.emit('error', err);
        throw err;
      });
    void pollOnWake(() => sessionTry(session), this.opts.retryMs ?? 500).then((end) => this.emit('wake', end));
  }

  private async runSession(): Promise<void> {
    let report: Dict = { Status: 'Idle', UDID: this.udid };
    for (let i = 0; i < 1000; i++) {
      const res = await this.put(this.opts.serverUrl, plist.build(report));
      const text = await res.text();
      if (res.status !== 200) throw new ServerAnswerError(res.status, 'command endpoint', text);
      if (text.length === 0) break;
      const cmd = plist.parse(text) as Dict;
      report = this.execute(cmd, await this.manifestOf(cmd));
    }
    this.emit('sessionEnd');
  }

  /**
   * Like a real device, an InstallApplication with a ManifestURL first downloads the manifest: its
   * bundle identifier names the app installed; a manifest that cannot be read fails the install.
   */
  private async manifestOf(cmd: Dict): Promise<ManifestInfo | undefined> {
    const command = (cmd.Command ?? {}) as Dict;
    if (command.RequestType !== 'InstallApplication' || typeof command.ManifestURL !== 'string') return undefined;
    try {
      const res = await (this.opts.fetchManifest ?? fetch)(command.ManifestURL);
      if (res.status !== 200) return { failed: `manifest download answered ${res.status}` };
      const m = plist.parse(await res.text()) as { items?: { metadata?: Record<string, unknown> }[] };
      const meta = m.items?.[0]?.metadata ?? {};
      const bundleId = meta['bundle-identifier'];
      if (typeof bundleId !== 'string') return { failed: 'the manifest names no bundle-identifier' };
      return { bundleId, title: typeof meta['title'] === 'string' ? meta['title'] : bundleId };
    } catch (err) {
      return { failed: `manifest download failed: ${(err as Error).message}` };
    }
  }

  private execute(cmd: Dict, manifest?: ManifestInfo): Dict {
    const commandUuid = typeof cmd.CommandUUID === 'string' ? cmd.CommandUUID : '';
    const command = (cmd.Command ?? {}) as Dict;
    const requestType = typeof command.RequestType === 'string' ? command.RequestType : '';
    const base: Dict = { CommandUUID: commandUuid, UDID: this.udid };
    const done = (status: ExecutedCommand['status'], extra: Dict = {}): Dict => {
      const ex = { commandUuid, requestType, status };
      this.executed.push(ex);
      this.emit('executed', ex);
      return { ...base, ...extra, Status: status };
    };
    if (!commandUuid || !requestType) return done('CommandFormatError');
    if (!supported.has(requestType)) {
      return done('Error', {
        ErrorChain: [
          {
            ErrorCode: 12021,
            ErrorDomain: 'MCMDMErrorDomain',
            LocalizedDescription: 'Unsupported command',
            USEnglishDescription: 'Unsupported command',
          },
        ],
      });
    }
    if (this.busy) return done('NotNow');
    switch (requestType) {
      case 'DeviceLock':
        this.locked = true;
        return done('Acknowledged', { MessageResult: 'Success' });
      case 'EraseDevice':
        this.erased = true;
        return done('Acknowledged');
      case 'DeviceInformation': {
        const info: Dict = {
          UDID: this.udid,
          SerialNumber: this.serialNumber,
          DeviceName: `iPhone ${this.serialNumber}`,
          OSVersion: '17.5',
          BuildVersion: '21F79',
          ModelName: 'iPhone',
          Model: 'iPhone15,2',
          ProductName: 'iPhone15,2',
          BatteryLevel: 0.8,
          IsSupervised: true,
          WiFiMAC: '00:11:22:33:44:55',
        };
        const queries = Array.isArray(command.Queries) ? (command.Queries as string[]) : [];
        const answers: Record<string, plist.PlistValue> = {};
        for (const q of queries) if (info[q] !== undefined) answers[q] = info[q]!;
        return done('Acknowledged', { QueryResponses: answers });
      }
      case 'SecurityInfo':
        return done('Acknowledged', {
          SecurityInfo: {
            HardwareEncryptionCaps: 3,
            PasscodePresent: true,
            PasscodeCompliant: true,
            PasscodeCompliantWithProfiles: this.passcodeCompliant,
          },
        });
      case 'ProfileList':
        return done('Acknowledged', { ProfileList: [...this.profiles].map((id) => ({ PayloadIdentifier: id, IsManaged: true })) });
      case 'InstallProfile': {
        const payload = command.Payload;
        let id: string | undefined;
        try {
          id = Buffer.isBuffer(payload) ? ((plist.parse(payload.toString('utf8')) as Dict).PayloadIdentifier as string) : undefined;
        } catch {
          id = undefined;
        }
        if (!id)
          return done('Error', {
            ErrorChain: [
              {
                ErrorCode: 1000,
                ErrorDomain: 'MCProfileErrorDomain',
                LocalizedDescription: 'Malformed profile',
                USEnglishDescription: 'Malformed profile',
              },
            ],
          });
        this.profiles.add(id);
        return done('Acknowledged');
      }
      case 'RemoveProfile':
        this.profiles.delete(command.Identifier as string);
        return done('Acknowledged');
      case 'InstalledApplicationList':
        return done('Acknowledged', {
          InstalledApplicationList: [...this.apps].map(([Identifier, Name]) => ({ Identifier, Name, Version: '1.0' })),
        });
      case 'InstallApplication': {
        if (manifest && 'failed' in manifest)
          return done('Error', {
            ErrorChain: [
              {
                ErrorCode: 12004,
                ErrorDomain: 'MCMDMErrorDomain',
                LocalizedDescription: manifest.failed,
                USEnglishDescription: manifest.failed,
              },
            ],
          });
        const id = manifest?.bundleId ?? (typeof command.Identifier === 'string' ? command.Identifier : 'com.example.app');
        this.apps.set(id, manifest?.title ?? id);
        return done('Acknowledged', { Identifier: id, State: 'Installing' });
      }
      case 'RemoveApplication':
        this.apps.delete(command.Identifier as string);
        return done('Acknowledged');
      case 'EnableLostMode':
        this.lostMode = true;
        return done('Acknowledged');
      case 'DisableLostMode':
        this.lostMode = false;
        return done('Acknowledged');
      default:
        return done('Acknowledged');
    }
  }
}
