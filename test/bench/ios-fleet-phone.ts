/**
 * The measured half of a benchmark phone (`npm run bench -- ios`): what one of 10,000 simulated
 * iPhones does when a push wakes it, kept cheap so that the phones' thread is not what limits the
 * loop (docs/BENCHMARKS.md, "Apple MDM: the command loop"). The phone enrolls with the full
 * simulator (simulators/src/apple/iphone-agent.ts); from then on this class answers its pushes:
 *
 * - transport `tls` (the default; profile SignMessage false): each phone has its own kept-alive
 *   HTTPS connection with its identity as client certificate (its TLS context built once), and
 *   signs nothing; the server identifies it by that certificate on every request;
 * - transport `signed` (SignMessage true): one keep-alive HTTP/1.1 agent for the fleet, the Idle
 *   report rendered and signed once per phone (the same bytes each time, so the same valid
 *   `Mdm-Signature`; the server still verifies it on every request), each result signed per request;
 * - each result is rendered from a fixed shape (the CommandUUID escaped);
 * - of the server's command plist only CommandUUID and RequestType are read.
 *
 * Both peers (hub and bare server) are driven by these same phones, so the ratio stays like for like.
 */
import { Agent, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { createSecureContext } from 'node:tls';
import { MdmSigner, type Identity } from '../../simulators/src/apple/index.js';

const head =
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n<plist version="1.0">\n<dict>\n';
const tail = '</dict>\n</plist>\n';
const entry = (key: string, value: string) => `  <key>${key}</key>\n  <string>${escapeXml(value)}</string>\n`;

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The fleet's shared connection pool: at most `sockets` connections to the server at once. */
export function fleetAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, keepAliveMsecs: 30_000 });
}

export interface FleetPhoneOptions {
  serverUrl: string;
  udid: string;
  pushMagic: string;
  identity: Identity;
  /** Transport `signed`: the fleet's shared HTTP agent. */
  agent?: Agent;
  /** Transport `tls`: the CA of the server's certificate; the phone gets its own HTTPS connection. */
  tls?: { caPem: string };
  /** The fleet's connections at once: a session waits for a slot. */
  slots: Slots;
  /** Transport tls: keep the connection between sessions (BENCH_IOS_KEEP_CONNECTIONS=1). */
  keepConnection?: boolean;
}

/** At most `size` check-in sessions (connections to the server) at once across a fleet. */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    }
  }
}

/** The body of a request, and its Mdm-Signature in transport `signed`. */
interface Outgoing {
  body: Buffer;
  signature?: string;
}

interface Answer {
  status: number;
  body: string;
}

export class FleetPhone {
  private readonly url: URL;
  private readonly signer?: MdmSigner;
  private readonly agent: Agent | HttpsAgent;
  private readonly send: (url: URL, opts: object, cb: (res: IncomingMessage) => void) => ClientRequest;
  private idle?: Outgoing;
  private running?: Promise<void>;
  private again = false;
  /** Commands this phone acknowledged (a check for the bench). */
  acknowledged = 0;

  constructor(private readonly opts: FleetPhoneOptions) {
    this.url = new URL(opts.serverUrl);
    if (opts.tls) {
      const secureContext = createSecureContext({ cert: opts.identity.certPem, key: opts.identity.keyPem, ca: opts.tls.caPem });
      this.agent = new HttpsAgent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 30_000, secureContext });
      this.send = httpsRequest;
    } else {
      if (!opts.agent) throw new Error('transport signed needs the fleet agent');
      this.agent = opts.agent;
      this.send = request;
      this.signer = new MdmSigner(opts.identity.certDer, opts.identity.privateKey);
      this.signer.prepare();
    }
  }

  /** A push with this phone's PushMagic starts a check-in session (one more after a running one). */
  onPush(magic: string, onError: (err: unknown) => void): void {
    if (magic !== this.opts.pushMagic) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.sessions()
      .catch(onError)
      .finally(() => {
        this.running = undefined;
      });
  }

  /**
   * Sessions until no push arrived during the last one, each holding one of the fleet's connection
   * slots. Transport tls: the phone's connection lives for its session only (a woken phone connects,
   * checks in and lets go, as a phone does), so each session opens a TLS connection, resuming the
   * phone's previous TLS session (its ticket) rather than a full handshake.
   */
  private async sessions(): Promise<void> {
    do {
      this.again = false;
      await this.opts.slots.run(async () => {
        try {
          await this.session();
        } finally {
          if (!this.opts.keepConnection && this.agent instanceof HttpsAgent) this.agent.destroy();
        }
      });
    } while (this.again);
  }

  /** Renders and signs the Idle report (setup, before any measured round). */
  async prepare(): Promise<void> {
    this.idle ??= await this.signed(head + entry('Status', 'Idle') + entry('UDID', this.opts.udid) + tail);
  }

  /** Idle, then one result per command until the server answers with an empty body. */
  async session(): Promise<void> {
    await this.prepare();
    let next = this.idle!;
    for (let i = 0; i < 1000; i++) {
      const answer = await this.put(next);
      if (answer.status !== 200) throw new Error(`command endpoint answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      if (answer.body.length === 0) return;
      const uuid = /<key>CommandUUID<\/key>\s*<string>([^<]*)<\/string>/.exec(answer.body)?.[1];
      const type = /<key>RequestType<\/key>\s*<string>([^<]*)<\/string>/.exec(answer.body)?.[1];
      if (!uuid || !type) throw new Error(`not a command plist: ${answer.body.slice(0, 200)}`);
      const status = type === 'DeviceLock' ? 'Acknowledged' : 'Error';
      if (status === 'Acknowledged') this.acknowledged++;
      next = await this.signed(head + entry('CommandUUID', uuid) + entry('Status', status) + entry('UDID', this.opts.udid) + tail);
    }
  }

  private async signed(text: string): Promise<Outgoing> {
    const body = Buffer.from(text);
    return this.signer ? { body, signature: await this.signer.sign(body) } : { body };
  }

  /** Closes the phone's own connection (transport tls). */
  close(): void {
    if (this.agent instanceof HttpsAgent) this.agent.destroy();
  }

  /** A request before the measured rounds: the bare peer's stand-in for enrollment, or a warm-up of the connection. */
  /** `idle`: the phone's Idle report (an enrolled phone with nothing queued gets an empty 200). */
  async warmUp(idle = false): Promise<void> {
    await this.put(idle ? (await this.prepare(), this.idle!) : await this.signed(head + entry('Status', 'Warmup') + tail));
  }

  private put(req: Outgoing): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const r = this.send(
        this.url,
        {
          method: 'PUT',
          agent: this.agent,
          headers:
            req.signature !== undefined
              ? { 'content-length': req.body.length, 'mdm-signature': req.signature }
              : { 'content-length': req.body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });
  }
}
