import 'reflect-metadata';
import { randomUUID, webcrypto } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { Agent, request } from 'node:http';
import * as x509 from '@peculiar/x509';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { ServerAnswerError, pollOnWake, sessionTry, type WakeEnd } from '../wake-retry.js';
import type { WnsSimulator } from './wns-simulator.js';

x509.cryptoProvider.set(webcrypto as never);

/**
 * A simulated Windows device as an MDM server sees it: it enrolls (discovery GET and POST,
 * RequestSecurityToken with the user's UPN, the enrollment secret and a PKCS#10 request), applies
 * the provisioning document (management URL, its session credentials), takes a WNS channel and,
 * woken by a raw push (or told to poll), runs an OMA DM session: Alert 1201 with its DevInfo and
 * ChannelURI, then answers each Get (Status + Results) and Exec (Status) until the server sends
 * no more commands. Written from the protocol, not from the hub's code.
 */

const soapNs = 'http://www.w3.org/2003/05/soap-envelope';
const addressingNs = 'http://www.w3.org/2005/08/addressing';
const discoverAction = 'http://schemas.microsoft.com/windows/management/2012/01/enrollment/IDiscoveryService/Discover';
const rstAction = 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment/RST/wstep';
const pkcs10Type = 'http://schemas.microsoft.com/windows/pki/2009/01/enrollment#PKCS10';
const syncMlType = 'application/vnd.syncml.dm+xml';

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name, jpath) => {
    const p = String(jpath);
    return (
      name === 'characteristic' || name === 'parm' || name === 'Item' || (p.startsWith('SyncML.SyncBody.') && p.split('.').length === 3)
    );
  },
});
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true, processEntities: true });

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);
const textOf = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : isNode(v) && typeof v['#text'] === 'string' ? v['#text'] : undefined;

/** Keep-alive connections shared by every simulated device of the process (a fleet of thousands). */
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** A POST over node:http (lighter than fetch for thousands of devices in one process). */
function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One PKCS#10 request (ECDSA P-256), shareable by a fleet of simulated devices. */
export async function createCsr(cn = 'windows-device'): Promise<string> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: `CN=${cn}`, keys, signingAlgorithm: alg });
  return Buffer.from(csr.rawData).toString('base64');
}

export interface WindowsDeviceOptions {
  /** The hub's base URL (stands in for https://EnterpriseEnrollment.<domain>). */
  baseUrl: string;
  upn: string;
  enrollmentSecret: string;
  wns?: WnsSimulator;
  deviceId?: string;
  /** A shared PKCS#10 (base64 DER); one is generated when absent. */
  csr?: string;
  /**
   * A wake-up whose session could not reach the server (a dropped connection, 429 or a 5xx answer)
   * is tried again this much later, the wait doubling up to 30 s, 20 tries in all
   * (simulators/src/wake-retry.ts), as a real device's DM client retries a failed session; 0: never
   * (default 500 ms).
   */
  retryMs?: number;
}

export interface ServerCommandSeen {
  kind: 'Get' | 'Exec' | 'Replace';
  cmdId: string;
  targets: string[];
}

/** Events: a session's end (its number), each server command, each push, and how each wake-up ended. */
export class WindowsDevice extends EventEmitter<{ session: [number]; command: [ServerCommandSeen]; push: []; wake: [WakeEnd] }> {
  readonly deviceId: string;
  readonly manufacturer = 'Contoso';
  readonly model = 'Surface Sim';
  readonly osVersion = '10.0.22631.4460';
  managementUrl?: string;
  private credentials?: { name: string; secret: string };
  channelUri?: string;
  locked = false;
  wiped = false;
  rings = 0;
  sessions = 0;
  pushesReceived = 0;
  /** While asleep, pushes are counted but open no session (commands wait in the hub). */
  asleep = false;
  /** Every command the server sent, in order. */
  readonly seen: ServerCommandSeen[] = [];
  /** Answer Exec of these nodes with this status instead of executing (e.g. 500, 405). */
  failExec = new Map<string, number>();
  private running?: Promise<void>;
  private again = false;
  private sessionCounter = 0;

  constructor(private readonly opts: WindowsDeviceOptions) {
    super();
    this.deviceId = opts.deviceId ?? `WIN-${randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase()}`;
  }

  private values(): Record<string, string> {
    return {
      './DevInfo/DevId': this.deviceId,
      './DevInfo/Man': this.manufacturer,
      './DevInfo/Mod': this.model,
      './DevInfo/DmV': '1.3',
      './DevInfo/Lang': 'en-US',
      './DevDetail/SwV': this.osVersion,
      './DevDetail/OEM': this.manufacturer,
      './DevDetail/DevTyp': 'Desktop',
      './DevDetail/Ext/Microsoft/DeviceName': `Desktop-${this.deviceId.slice(4, 10)}`,
      './DevDetail/Ext/Microsoft/OSPlatform': 'Windows 11 Enterprise',
      './DevDetail/Ext/Microsoft/TotalRAM': '16384',
      './DevDetail/Ext/Microsoft/TotalStorage': '512000',
    };
  }

  async enroll(): Promise<void> {
    const discoveryUrl = `${this.opts.baseUrl}/EnrollmentServer/Discovery.svc`;
    const probe = await fetch(discoveryUrl);
    await probe.arrayBuffer();
    if (probe.status !== 200) throw new Error(`discovery GET answered ${probe.status}`);
    const discover = await this.soap(discoveryUrl, discoverAction, {
      Discover: {
        '@_xmlns': 'http://schemas.microsoft.com/windows/management/2012/01/enrollment',
        request: {
          EmailAddress: this.opts.upn,
          RequestVersion: '4.0',
          DeviceType: 'CIMClient_Windows',
          ApplicationVersion: '10.0.22631.4460',
          OSEdition: '4',
          AuthPolicies: { AuthPolicy: 'OnPremise' },
        },
      },
    });
    const result = (discover['DiscoverResponse'] as Node | undefined)?.['DiscoverResult'] as Node | undefined;
    const enrollmentUrl = textOf(result?.['EnrollmentServiceUrl']);
    if (!enrollmentUrl || textOf(result?.['AuthPolicy']) !== 'OnPremise')
      throw new Error('discovery gave no on-premise enrollment service');
    const csr = this.opts.csr ?? (await createCsr(this.deviceId));
    const context = (name: string, value: string) => ({ '@_Name': name, Value: value });
    const rstr = await this.soap(
      enrollmentUrl,
      rstAction,
      {
        RequestSecurityToken: {
          '@_xmlns': 'http://docs.oasis-open.org/ws-sx/ws-trust/200512',
          TokenType: 'http://schemas.microsoft.com/5.0.0.0/ConfigurationManager/Enrollment/DeviceEnrollmentToken',
          RequestType: 'http://docs.oasis-open.org/ws-sx/ws-trust/200512/Issue',
          BinarySecurityToken: {
            '@_xmlns': 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
            '@_ValueType': pkcs10Type,
            '@_EncodingType': 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd#base64binary',
            '#text': csr,
          },
          AdditionalContext: {
            '@_xmlns': 'http://schemas.xmlsoap.org/ws/2006/12/authorization',
            ContextItem: [
              context('DeviceID', this.deviceId),
              context('EnrollmentType', 'Full'),
              context('DeviceType', 'CIMClient_Windows'),
              context('OSVersion', this.osVersion),
              context('DeviceName', `Desktop-${this.deviceId.slice(4, 10)}`),
            ],
          },
        },
      },
      {
        Security: {
          '@_xmlns': 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd',
          UsernameToken: { Username: this.opts.upn, Password: this.opts.enrollmentSecret },
        },
      },
    );
    const coll = rstr['RequestSecurityTokenResponseCollection'] as Node | undefined;
    const token = ((coll?.['RequestSecurityTokenResponse'] as Node | undefined)?.['RequestedSecurityToken'] as Node | undefined)?.[
      'BinarySecurityToken'
    ];
    const b64 = textOf(token);
    if (!b64) throw new Error('enrollment gave no provisioning document');
    this.applyProvisioning(Buffer.from(b64, 'base64').toString('utf8'));
    if (this.opts.wns) this.channelUri = this.opts.wns.createChannel(() => this.onPush());
  }

  /**
   * Takes a management URL and credentials without enrolling (a benchmark's bare peer server has no
   * enrollment endpoint), and a WNS channel.
   */
  provision(managementUrl: string, secret: string): void {
    this.managementUrl = managementUrl;
    this.credentials = { name: this.deviceId, secret };
    if (this.opts.wns) this.channelUri = this.opts.wns.createChannel(() => this.onPush());
  }

  /** A new WNS channel (as Windows renews it), reported at the next session. */
  renewChannel(): void {
    if (this.opts.wns) this.channelUri = this.opts.wns.createChannel(() => this.onPush());
  }

  private applyProvisioning(xml: string): void {
    const doc = parser.parse(xml) as Node;
    const root = doc['wap-provisioningdoc'] as Node;
    const app = (root['characteristic'] as Node[]).find((c) => c['@_type'] === 'APPLICATION');
    const parm = (c: Node | undefined, name: string) =>
      ((c?.['parm'] as Node[] | undefined) ?? []).find((p) => p['@_name'] === name)?.['@_value'] as string;
    const auth = ((app?.['characteristic'] as Node[] | undefined) ?? []).find((c) => c['@_type'] === 'APPAUTH');
    this.managementUrl = parm(app, 'ADDR');
    this.credentials = { name: parm(auth, 'AAUTHNAME'), secret: parm(auth, 'AAUTHSECRET') };
    if (!this.managementUrl || !this.credentials.name || !this.credentials.secret) throw new Error('provisioning document incomplete');
  }

  private onPush(): void {
    this.pushesReceived++;
    this.emit('push');
    if (this.asleep) return;
    // A wake-up is not lost to a dropped connection or a busy server: the session is tried again later.
    void pollOnWake(() => sessionTry(() => this.poll()), this.opts.retryMs ?? 500).then((end) => this.emit('wake', end));
  }

  /**
   * Runs a management session now, one at a time: a wake-up during a session runs another after it,
   * and the promise it gets settles with that one.
   */
  poll(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.session();
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** Resolves when no session is running or due (a wake-up during a session runs one more). */
  async idle(): Promise<void> {
    while (this.running) await this.running.catch(() => undefined);
  }

  /** Posts any body to the management endpoint (for tests of refusals). */
  async post(body: string, contentType = syncMlType): Promise<{ status: number; body: string }> {
    return post(this.managementUrl!, body, { 'content-type': contentType });
  }

  /** The device's SyncHdr, with its credentials (`secret` overrides them, for tests). */
  header(sessionId: string, msgId: number, secret?: string): Node {
    const cred = Buffer.from(`${this.credentials!.name}:${secret ?? this.credentials!.secret}`).toString('base64');
    return {
      VerDTD: '1.2',
      VerProto: 'DM/1.2',
      SessionID: sessionId,
      MsgID: String(msgId),
      Target: { LocURI: this.managementUrl },
      Source: { LocURI: this.deviceId },
      Cred: {
        Meta: {
          Format: { '@_xmlns': 'syncml:metinf', '#text': 'b64' },
          Type: { '@_xmlns': 'syncml:metinf', '#text': 'syncml:auth-basic' },
        },
        Data: cred,
      },
    };
  }

  static message(header: Node, body: Node): string {
    return builder.build({ SyncML: { '@_xmlns': 'SYNCML:SYNCML1.2', SyncHdr: header, SyncBody: { ...body, Final: '' } } });
  }

  private async session(): Promise<void> {
    if (!this.managementUrl) throw new Error('not enrolled');
    const sessionId = String(++this.sessionCounter);
    const v = this.values();
    const opening: Node[] = ['./DevInfo/DevId', './DevInfo/Man', './DevInfo/Mod', './DevDetail/SwV'].map((n) => ({
      Source: { LocURI: n },
      Data: v[n],
    }));
    if (this.channelUri)
      opening.push({ Source: { LocURI: './Vendor/MSFT/DMClient/Provider/EdgeHub/Push/ChannelURI' }, Data: this.channelUri });
    let msgId = 1;
    let body: Node = {
      Alert: [{ CmdID: '1', Data: '1201' }],
      Replace: [{ CmdID: '2', Item: opening }],
    };
    for (let turn = 0; turn < 100; turn++) {
      const r = await this.post(WindowsDevice.message(this.header(sessionId, msgId), body));
      if (r.status !== 200) throw new ServerAnswerError(r.status, 'management endpoint', r.body);
      const answer = parser.parse(r.body) as Node;
      const sync = (answer['SyncML'] as Node | undefined)?.['SyncBody'] as Node | undefined;
      const statuses: Node[] = [];
      const results: Node[] = [];
      // CmdID 1 is the Status for the server's SyncHdr.
      let next = 2;
      for (const kind of ['Get', 'Exec', 'Replace'] as const) {
        for (const c of (sync?.[kind] as Node[] | undefined) ?? []) {
          const cmdId = textOf(c['CmdID']) ?? '';
          const targets = ((c['Item'] as Node[] | undefined) ?? []).map(
            (it) => textOf((it['Target'] as Node | undefined)?.['LocURI']) ?? '',
          );
          const seen = { kind, cmdId, targets };
          this.seen.push(seen);
          this.emit('command', seen);
          const code = this.execute(kind, targets);
          statuses.push({ CmdID: String(next++), MsgRef: String(msgId), CmdRef: cmdId, Cmd: kind, Data: String(code) });
          if (kind === 'Get' && code === 200) {
            results.push({
              CmdID: String(next++),
              MsgRef: String(msgId),
              CmdRef: cmdId,
              Item: targets.filter((t) => v[t] !== undefined).map((t) => ({ Source: { LocURI: t }, Data: v[t] })),
            });
          }
        }
      }
      if (statuses.length === 0) break;
      msgId++;
      body = {
        Status: [{ CmdID: '1', MsgRef: String(msgId - 1), CmdRef: '0', Cmd: 'SyncHdr', Data: '200' }, ...statuses],
        Results: results,
      };
      if (results.length === 0) delete body['Results'];
    }
    this.sessions++;
    this.emit('session', this.sessions);
  }

  private execute(kind: string, targets: string[]): number {
    if (kind === 'Get') return targets.every((t) => t.startsWith('./DevInfo/') || t.startsWith('./DevDetail/')) ? 200 : 404;
    if (kind !== 'Exec') return 405;
    const node = targets[0] ?? '';
    const forced = this.failExec.get(node);
    if (forced !== undefined) return forced;
    switch (node) {
      case './Vendor/MSFT/RemoteLock/Lock':
        this.locked = true;
        return 200;
      case './Device/Vendor/MSFT/RemoteWipe/doWipe':
        this.wiped = true;
        return 200;
      case './Vendor/MSFT/RemoteRing/Ring':
        this.rings++;
        return 200;
      case './Vendor/MSFT/Reboot/RebootNow':
        return 200;
      default:
        return 404;
    }
  }

  private async soap(url: string, action: string, body: Node, header: Node = {}): Promise<Node> {
    const xml = builder.build({
      's:Envelope': {
        '@_xmlns:s': soapNs,
        '@_xmlns:a': addressingNs,
        's:Header': {
          'a:Action': { '@_s:mustUnderstand': '1', '#text': action },
          'a:MessageID': `urn:uuid:${randomUUID()}`,
          'a:To': { '@_s:mustUnderstand': '1', '#text': url },
          ...header,
        },
        's:Body': body,
      },
    });
    const r = await post(url, xml, { 'content-type': 'application/soap+xml; charset=utf-8', 'user-agent': 'Windows Enrollment Client' });
    const text = r.body;
    if (r.status !== 200) throw new Error(`${url} answered ${r.status}: ${text.slice(0, 2000)}`);
    const env = (parser.parse(text) as Node)['Envelope'] as Node;
    return env['Body'] as Node;
  }
}
