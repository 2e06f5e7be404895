import { randomBytes } from 'node:crypto';
import { pollOnWake, retryable, type WakeEnd } from '../wake-retry.js';
import type { FcmSimulator } from './fcm-simulator.js';

const base = '/api/device-mgt/android/v1.0';

export interface AndroidAgentOptions {
  /** The hub's base URL (http://host:port). */
  baseUrl: string;
  /** An OAuth2 bearer token (POST /token) of the organization to enroll into, scope dm:devices:manage. */
  oauthToken: string;
  /** Where the agent gets its FCM registration token and its wake-ups; without it the agent only polls. */
  fcm?: FcmSimulator;
  deviceIdentifier?: string;
  name?: string;
  /**
   * A wake-up whose poll could not reach the server (a network error, 429 or a 5xx answer) is tried
   * again this much later, the wait doubling up to 30 s, 20 tries in all (simulators/src/wake-retry.ts),
   * as the real agent's periodic poll would catch up with it; 0: never (default 500 ms).
   */
  retryMs?: number;
}

/** An operation as the hub sends it (Entgra agent bean). */
export interface AgentOperation {
  id: string;
  code: string;
  type: string;
  status: string;
  payLoad: unknown;
}

interface AgentResultOut {
  id: string;
  code: string;
  status: 'COMPLETED' | 'ERROR' | 'IN_PROGRESS';
  operationResponse: string | null;
}

/**
 * A simulated Android device with the Entgra agent (docs/DEVICE-MANAGEMENT.md, "Android:
 * simulators"): enrolls with an OAuth2 token, registers its FCM token, and on every FCM message
 * (or `poll()`) calls pending-operations, executes what it gets and reports the results at once
 * in the next call, until nothing is left. Light enough to run thousands in one process.
 */
export class AndroidAgent {
  readonly deviceIdentifier: string;
  accessToken?: string;
  fcmToken?: string;
  locked = false;
  lockMessage?: string;
  rings = 0;
  wiped = false;
  readonly notifications: { messageTitle?: string; messageText: string }[] = [];
  readonly apps = new Map<string, string>([['com.android.chrome', '120.0']]);
  /** The features of the policy the agent applied (POLICY_BUNDLE), by code. */
  readonly policy = new Map<string, unknown>();
  /** Features the device reports as not compliant in its MONITOR answer, with the reason. */
  readonly nonCompliant = new Map<string, string>();
  readonly executed: AgentOperation[] = [];
  pushes = 0;
  /** Statuses of the pending-operations calls (the last one last). */
  lastStatus = 0;
  /** Called with each operation when it has been executed and its result reported. */
  onReported?: (op: AgentOperation) => void;
  /**
   * Told how each wake-up ended: served, refused (401, 404: not retried) or given up after every
   * try. A benchmark counts the wake-ups that gave up instead of waiting for their commands forever.
   */
  onWake?: (end: WakeEnd) => void;
  /**
   * Results of executed operations that no call has delivered yet, with their operations: the server
   * hands an operation out once, so they are kept, as the real agent keeps them, until a call that
   * carries them is answered 201.
   */
  private unreported: { results: AgentResultOut[]; ops: AgentOperation[] } = { results: [], ops: [] };
  private polling?: Promise<void>;
  private again = false;

  constructor(private readonly opts: AndroidAgentOptions) {
    this.deviceIdentifier =
      opts.deviceIdentifier ??
      `35${BigInt('0x' + randomBytes(7).toString('hex'))
        .toString()
        .slice(0, 13)
        .padStart(13, '0')}`;
  }

  async enroll(): Promise<void> {
    if (this.opts.fcm && !this.fcmToken) this.fcmToken = this.opts.fcm.register(() => this.onPush());
    const res = await fetch(`${this.opts.baseUrl}${base}/devices`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.opts.oauthToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        deviceIdentifier: this.deviceIdentifier,
        name: this.opts.name ?? `Android ${this.deviceIdentifier.slice(-4)}`,
        ownership: 'COPE',
        properties: [
          { name: 'IMEI', value: this.deviceIdentifier },
          { name: 'DEVICE_MODEL', value: 'Pixel 8' },
          { name: 'OS_VERSION', value: '14' },
          ...(this.fcmToken ? [{ name: 'FCM_TOKEN', value: this.fcmToken }] : []),
        ],
      }),
    });
    const body = (await res.json()) as { accessToken?: string; message?: string };
    if (res.status !== 201 || !body.accessToken) throw new Error(`enrollment refused: ${res.status} ${body.message ?? ''}`);
    this.accessToken = body.accessToken;
  }

  /** A new FCM token (the old one is unregistered at FCM), sent to the hub as the FCM_TOKEN property. */
  async rotateFcmToken(): Promise<number> {
    if (!this.opts.fcm) throw new Error('no FCM');
    if (this.fcmToken) this.opts.fcm.unregister(this.fcmToken);
    this.fcmToken = this.opts.fcm.register(() => this.onPush());
    return (await this.call('PUT', `/devices/${this.deviceIdentifier}`, { properties: [{ name: 'FCM_TOKEN', value: this.fcmToken }] }))
      .status;
  }

  async status(): Promise<{ status: number; body: unknown }> {
    return this.call('GET', `/devices/${this.deviceIdentifier}/status`);
  }

  async disenroll(): Promise<number> {
    return (await this.call('DELETE', `/devices/${this.deviceIdentifier}`)).status;
  }

  /** One agent call with the device token (or another token, for tests of refusals). */
  async call(method: string, path: string, body?: unknown, token = this.accessToken): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.opts.baseUrl}${base}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  /** Fetches and executes until nothing is pending; a poll requested meanwhile runs once more after. */
  poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    this.polling = (async () => {
      do {
        this.again = false;
        await this.cycle();
      } while (this.again);
    })().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private onPush(): void {
    this.pushes++;
    // A wake-up is not lost to a dropped connection or a busy server: the poll is tried again later.
    void pollOnWake(async () => {
      await this.poll();
      return retryable(this.lastStatus) ? 'retry' : this.lastStatus >= 400 ? 'refused' : 'served';
    }, this.opts.retryMs ?? 500).then((end) => this.onWake?.(end));
  }

  private async cycle(): Promise<void> {
    for (;;) {
      const { results, ops: reportedOps } = this.unreported;
      // A call that throws or is not answered 201 leaves the results unreported: the next try sends them again.
      const res = await this.call('PUT', `/devices/${this.deviceIdentifier}/pending-operations`, results.length > 0 ? results : null);
      this.lastStatus = res.status;
      if (res.status !== 201 || !Array.isArray(res.body)) return;
      this.unreported = { results: [], ops: [] };
      for (const op of reportedOps) this.onReported?.(op);
      const ops = res.body as AgentOperation[];
      // Nothing new: the results just sent (if any) were the last word.
      if (ops.length === 0) return;
      this.unreported = { results: ops.map((op) => this.execute(op)), ops };
    }
  }

  private execute(op: AgentOperation): AgentResultOut {
    this.executed.push(op);
    const done = (response: unknown = null): AgentResultOut => ({
      id: op.id,
      code: op.code,
      status: 'COMPLETED',
      operationResponse: response === null ? null : typeof response === 'string' ? response : JSON.stringify(response),
    });
    const p = (op.payLoad ?? {}) as Record<string, unknown>;
    switch (op.code) {
      case 'DEVICE_LOCK':
        this.locked = true;
        this.lockMessage = typeof p['message'] === 'string' ? p['message'] : undefined;
        return done();
      case 'DEVICE_UNLOCK':
        this.locked = false;
        return done();
      case 'DEVICE_RING':
        this.rings++;
        return done();
      case 'DEVICE_INFO':
        return done({
          deviceIdentifier: this.deviceIdentifier,
          properties: [
            { name: 'BATTERY_LEVEL', value: '87' },
            { name: 'DEVICE_MODEL', value: 'Pixel 8' },
            { name: 'OS_VERSION', value: '14' },
            { name: 'SERIAL', value: `SN${this.deviceIdentifier.slice(-8)}` },
          ],
        });
      case 'APPLICATION_LIST':
        return done([...this.apps].map(([pkg, version]) => ({ package: pkg, version })));
      case 'INSTALL_APPLICATION':
      case 'UPDATE_APPLICATION':
        this.apps.set(String(p['appIdentifier']), typeof p['version'] === 'string' ? p['version'] : '1.0');
        return done();
      case 'UNINSTALL_APPLICATION':
        this.apps.delete(String(p['appIdentifier']));
        return done();
      case 'WIPE_DATA':
      case 'ENTERPRISE_WIPE':
        this.wiped = true;
        return done();
      case 'NOTIFICATION':
        this.notifications.push({
          messageText: typeof p['messageText'] === 'string' ? p['messageText'] : '',
          ...(typeof p['messageTitle'] === 'string' ? { messageTitle: p['messageTitle'] } : {}),
        });
        return done();
      case 'POLICY_BUNDLE':
        this.policy.clear();
        for (const f of Array.isArray(op.payLoad) ? (op.payLoad as { code: string; payLoad: unknown }[]) : [])
          this.policy.set(f.code, f.payLoad);
        return done();
      case 'POLICY_REVOKE':
        this.policy.clear();
        return done();
      case 'MONITOR':
        return done(
          [...this.policy.keys()].map((featureCode) =>
            this.nonCompliant.has(featureCode)
              ? { featureCode, compliance: false, message: this.nonCompliant.get(featureCode) }
              : { featureCode, compliance: true },
          ),
        );
      case 'DEVICE_LOCATION':
        return done({ latitude: 6.9271, longitude: 79.8612 });
      case 'REBOOT':
      case 'DEVICE_MUTE':
      case 'CLEAR_PASSWORD':
      case 'CHANGE_LOCK_CODE':
      case 'CAMERA':
      case 'ENCRYPT_STORAGE':
      case 'PASSCODE_POLICY':
      case 'WIFI':
      case 'VPN':
      case 'WEBCLIP':
      case 'NOTIFIER_FREQUENCY':
      case 'BLACKLIST_APPLICATIONS':
      case 'UPGRADE_FIRMWARE':
      case 'LOGCAT':
      case 'DISENROLL':
        return done();
      default:
        return { id: op.id, code: op.code, status: 'ERROR', operationResponse: `unsupported operation ${op.code}` };
    }
  }
}
