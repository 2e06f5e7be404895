/**
 * The measured half of a benchmark phone (`npm run bench -- ios`): what one of 10,000 simulated
 * iPhones does when a push wakes it, kept cheap so that the phones' thread is not what limits the
 * loop (docs/BENCHMARKS.md, "Apple MDM: the command loop"). The phone enrolls with the full
 * simulator (simulators/src/apple/iphone-agent.ts); from then on this class answers its pushes:
 *
 * - one keep-alive HTTP/1.1 agent for the fleet (connections reused, as a phone keeps its own);
 * - the Idle report is rendered and signed once per phone (the same bytes each time, so the same
 *   valid `Mdm-Signature`; the server still verifies it on every request);
 * - each result is rendered from a fixed shape (the CommandUUID escaped) and signed per request;
 * - of the server's command plist only CommandUUID and RequestType are read.
 *
 * Both peers (hub and bare server) are driven by these same phones, so the ratio stays like for like.
 */
import { Agent, request } from 'node:http';
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
  agent: Agent;
}

interface Answer {
  status: number;
  body: string;
}

export class FleetPhone {
  private readonly url: URL;
  private readonly signer: MdmSigner;
  private idle?: { body: Buffer; signature: string };
  private running?: Promise<void>;
  private again = false;
  /** Commands this phone acknowledged (a check for the bench). */
  acknowledged = 0;

  constructor(private readonly opts: FleetPhoneOptions) {
    this.url = new URL(opts.serverUrl);
    this.signer = new MdmSigner(opts.identity.certDer, opts.identity.privateKey);
    this.signer.prepare();
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

  /** Sessions until no push arrived during the last one. */
  private async sessions(): Promise<void> {
    do {
      this.again = false;
      await this.session();
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

  private async signed(text: string): Promise<{ body: Buffer; signature: string }> {
    const body = Buffer.from(text);
    return { body, signature: await this.signer.sign(body) };
  }

  /** A signed request the server answers without a command (the bare peer's stand-in for enrollment). */
  async warmUp(): Promise<void> {
    await this.put(await this.signed(head + entry('Status', 'Warmup') + tail));
  }

  private put(req: { body: Buffer; signature: string }): Promise<Answer> {
    return new Promise<Answer>((resolve, reject) => {
      const r = request(
        this.url,
        {
          method: 'PUT',
          agent: this.opts.agent,
          headers: { 'content-length': req.body.length, 'mdm-signature': req.signature },
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
