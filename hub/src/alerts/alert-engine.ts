import { randomUUID } from 'node:crypto';
import { EnosError, codes } from '@edgehub/shared';
import type { Logger } from 'pino';
import type { Collection, Filter } from '../store/port.js';
import type { StreamEvent, StreamSink } from '../telemetry/stream-events.js';
import type { AlertRules } from './alert-rules.js';
import { holds } from './conditions.js';
import type { AlertChange, AlertRecord, AlertRuleRecord, AlertStatus } from './records.js';
import type { WebhookSender } from './webhook.js';

type DataEvent = Extract<StreamEvent, { type: 'measurepoints' | 'event' }>;

interface RuleState {
  /** The open or acknowledged alert of this rule for this device. */
  alert?: AlertRecord;
  /** Since when (data time) the trigger holds without an alert yet (duration rules). */
  pendingSince?: number;
}

/** Devices whose evaluation is queued at most; beyond it new data is not evaluated (and counted). */
const MAX_QUEUED_DEVICES = 100_000;

/**
 * Evaluates alert rules on ingested data (docs/PROTOCOL.md §7.4). It sits beside the
 * application stream: ingestion hands it each stored data event and returns at once; evaluation
 * runs afterwards, in order per device, so a rule opens one alert however many messages keep
 * it triggered, and its recovery closes it. Changes go to the stream and the rule's webhook.
 */
export class AlertEngine implements StreamSink {
  private readonly states = new Map<string, RuleState>();
  private readonly chains = new Map<string, Promise<void>>();
  dropped = 0;

  constructor(
    private readonly rules: AlertRules,
    private readonly alerts: Collection<AlertRecord>,
    private readonly stream: StreamSink,
    private readonly webhooks: WebhookSender,
    private readonly log: Logger,
    private readonly clock: () => number,
  ) {}

  publish(event: StreamEvent): void {
    if ((event.type !== 'measurepoints' && event.type !== 'event') || (event.type === 'measurepoints' && event.resume)) return;
    const key = event.assetId;
    const previous = this.chains.get(key);
    // Most posts meet no rule: with nothing queued for the device and the product's rules known,
    // a post no rule is about is skipped here, without the promises of an evaluation (which
    // would find nothing to do). docs/BENCHMARKS.md, "MQTT fan-in: the third pass".
    if (!previous && !this.concerned(event)) return;
    if (!previous && this.chains.size >= MAX_QUEUED_DEVICES) {
      this.dropped++;
      return;
    }
    const next = (previous ?? Promise.resolve())
      .then(() => this.evaluate(event))
      .catch((err: unknown) => this.log.error({ err, assetId: key }, 'alert evaluation failed'))
      .finally(() => {
        if (this.chains.get(key) === next) this.chains.delete(key);
      });
    this.chains.set(key, next);
  }

  /** False only when the cached rules of the event's product are known and none is about its device. */
  private concerned(e: DataEvent): boolean {
    const rules = this.rules.cached(e.productKey);
    if (!rules) return true;
    return rules.some((rule) => concerns(rule, e));
  }

  /** Resolves when every queued evaluation is done (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.chains.size > 0) await Promise.all([...this.chains.values()]);
  }

  async acknowledge(orgId: string, alertId: string, by: string): Promise<AlertRecord> {
    const a = await this.require(orgId, alertId);
    if (a.status !== 'open') return a;
    const now = this.clock();
    const updated =
      (await this.alerts.update(alertId, { status: 'acknowledged', ackTime: now, ackBy: by, updateTime: now }, { status: 'open' })) ?? a;
    const st = this.states.get(stateKey(a.ruleId, a.assetId));
    if (st?.alert?.alertId === alertId) st.alert = updated;
    await this.announce(updated, 'acknowledged');
    return updated;
  }

  /** Closes an alert by hand; the next trigger opens a new one. */
  async close(orgId: string, alertId: string): Promise<AlertRecord> {
    const a = await this.require(orgId, alertId);
    if (a.status === 'closed') return a;
    const now = this.clock();
    const updated = (await this.alerts.update(alertId, { status: 'closed', closeTime: now, closedBy: 'manual', updateTime: now })) ?? a;
    const st = this.states.get(stateKey(a.ruleId, a.assetId));
    if (st?.alert?.alertId === alertId) this.states.set(stateKey(a.ruleId, a.assetId), {});
    await this.announce(updated, 'closed');
    return updated;
  }

  async require(orgId: string, alertId: string): Promise<AlertRecord> {
    const a = await this.alerts.get(alertId);
    if (!a || a.orgId !== orgId) throw new EnosError(codes.notFound, `Object not found: alert ${alertId}`);
    return a;
  }

  async search(orgId: string, q: { status?: AlertStatus; assetId?: string; ruleId?: string; limit: number }): Promise<AlertRecord[]> {
    const and: Filter[] = [{ orgId }];
    if (q.status) and.push({ status: q.status });
    if (q.assetId) and.push({ assetId: q.assetId });
    if (q.ruleId) and.push({ ruleId: q.ruleId });
    return (await this.alerts.find({ $and: and }, { sort: [{ field: 'triggerTime', order: 'DESC' }], limit: q.limit })).items;
  }

  private async evaluate(e: DataEvent): Promise<void> {
    const rules = await this.rules.ofProduct(e.productKey);
    for (const rule of rules) {
      if (!concerns(rule, e)) continue;
      const value = valueOf(rule, e);
      if (value === undefined) continue;
      await this.apply(rule, e, value.v);
    }
  }

  private async apply(rule: AlertRuleRecord, e: DataEvent, v: unknown): Promise<void> {
    const key = stateKey(rule.ruleId, e.assetId);
    let st = this.states.get(key);
    if (!st) {
      const open = await this.alerts.findOne({ ruleId: rule.ruleId, assetId: e.assetId, status: { $in: ['open', 'acknowledged'] } });
      st = open ? { alert: open } : {};
      this.states.set(key, st);
    }
    const triggered = holds(rule.trigger, v);
    if (st.alert) {
      const recovered = rule.recovery ? holds(rule.recovery, v) : !triggered;
      if (!recovered) return;
      const now = this.clock();
      const closed =
        (await this.alerts.update(st.alert.alertId, {
          status: 'closed',
          recoverValue: v,
          recoverTime: e.time,
          closeTime: now,
          closedBy: 'recovery',
          updateTime: now,
        })) ?? st.alert;
      this.states.set(key, {});
      await this.announce(closed, 'closed');
      return;
    }
    if (!triggered) {
      if (st.pendingSince !== undefined) this.states.set(key, {});
      return;
    }
    if (rule.durationSeconds > 0) {
      st.pendingSince ??= e.time;
      if (e.time - st.pendingSince < rule.durationSeconds * 1000) return;
    }
    const now = this.clock();
    const alert: AlertRecord = {
      alertId: randomUUID().replaceAll('-', ''),
      orgId: rule.orgId,
      ruleId: rule.ruleId,
      ruleName: rule.name,
      severity: rule.severity,
      assetId: e.assetId,
      productKey: e.productKey,
      deviceKey: e.deviceKey,
      status: 'open',
      triggerValue: v,
      triggerTime: e.time,
      updateTime: now,
    };
    await this.alerts.insert(alert);
    this.states.set(key, { alert });
    await this.announce(alert, 'opened', rule);
  }

  private async announce(alert: AlertRecord, change: AlertChange, known?: AlertRuleRecord): Promise<void> {
    try {
      this.stream.publish({
        type: 'alert',
        orgId: alert.orgId,
        assetId: alert.assetId,
        productKey: alert.productKey,
        deviceKey: alert.deviceKey,
        time: this.clock(),
        change,
        alert,
      });
    } catch (err) {
      this.log.error({ err, alertId: alert.alertId }, 'alert stream publish failed');
    }
    const rule = known ?? (await this.rules.ofProduct(alert.productKey)).find((r) => r.ruleId === alert.ruleId);
    if (rule?.webhookUrl && rule.webhookSecret) this.webhooks.send(rule.webhookUrl, rule.webhookSecret, { change, alert });
  }
}

function stateKey(ruleId: string, assetId: string): string {
  return `${ruleId}/${assetId}`;
}

function valueOf(rule: AlertRuleRecord, e: DataEvent): { v: unknown } | undefined {
  const s = rule.source;
  if ('measurepoint' in s) {
    if (e.type !== 'measurepoints') return undefined;
    const sample = e.measurepoints[s.measurepoint];
    return sample === undefined ? undefined : { v: sample.value };
  }
  if (e.type !== 'event' || e.eventId !== s.eventId || !(s.field in e.values)) return undefined;
  return { v: e.values[s.field] };
}

/** A rule is about an event's device when it is of the device's organization and names that device or none. */
function concerns(rule: AlertRuleRecord, e: DataEvent): boolean {
  return rule.orgId === e.orgId && (rule.deviceKey === undefined || rule.deviceKey === e.deviceKey);
}
