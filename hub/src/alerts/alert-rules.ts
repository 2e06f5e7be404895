import { randomBytes, randomUUID } from 'node:crypto';
import { EnosError, codes } from '@edgehub/shared';
import type { Collection } from '../store/port.js';
import type { AlertRuleRecord, AlertSource, Condition, Severity } from './records.js';

export interface NewAlertRule {
  productKey: string;
  deviceKey?: string;
  name: string;
  severity: Severity;
  source: AlertSource;
  trigger: Condition;
  recovery?: Condition;
  durationSeconds?: number;
  enabled?: boolean;
  webhookUrl?: string;
}

/** Rules per product at most: every one is evaluated on each message of the product's devices. */
export const MAX_RULES_PER_PRODUCT = 500;
const CACHE_MS = 5_000;

/** The alert rules repository, with a short per-product cache for the evaluation path. */
export class AlertRules {
  private readonly cache = new Map<string, { at: number; rules: AlertRuleRecord[] }>();

  constructor(
    private readonly records: Collection<AlertRuleRecord>,
    private readonly clock: () => number,
  ) {}

  async create(orgId: string, input: NewAlertRule): Promise<AlertRuleRecord> {
    if ((await this.records.count({ productKey: input.productKey })) >= MAX_RULES_PER_PRODUCT) {
      throw new EnosError(codes.invalidArgument, `Invalid Argument productKey: a product has at most ${MAX_RULES_PER_PRODUCT} alert rules`);
    }
    const rule: AlertRuleRecord = {
      ruleId: randomUUID().replaceAll('-', ''),
      orgId,
      productKey: input.productKey,
      name: input.name,
      severity: input.severity,
      source: input.source,
      trigger: input.trigger,
      durationSeconds: input.durationSeconds ?? 0,
      enabled: input.enabled ?? true,
      createTime: this.clock(),
    };
    if (input.deviceKey !== undefined) rule.deviceKey = input.deviceKey;
    if (input.recovery !== undefined) rule.recovery = input.recovery;
    if (input.webhookUrl !== undefined) {
      rule.webhookUrl = input.webhookUrl;
      rule.webhookSecret = randomBytes(32).toString('base64url');
    }
    await this.records.insert(rule);
    this.cache.delete(rule.productKey);
    return rule;
  }

  async require(orgId: string, ruleId: string): Promise<AlertRuleRecord> {
    const r = await this.records.get(ruleId);
    if (!r || r.orgId !== orgId) throw new EnosError(codes.notFound, `Object not found: alert rule ${ruleId}`);
    return r;
  }

  async list(orgId: string, productKey?: string): Promise<AlertRuleRecord[]> {
    return (
      await this.records.find(productKey ? { orgId, productKey } : { orgId }, {
        sort: [{ field: 'createTime', order: 'ASC' }],
        limit: 10_000,
      })
    ).items;
  }

  async setEnabled(orgId: string, ruleId: string, enabled: boolean): Promise<AlertRuleRecord> {
    const r = await this.require(orgId, ruleId);
    const updated = (await this.records.update(ruleId, { enabled }, { orgId })) ?? r;
    this.cache.delete(r.productKey);
    return updated;
  }

  async delete(orgId: string, ruleId: string): Promise<void> {
    const r = await this.require(orgId, ruleId);
    await this.records.delete(ruleId, { orgId });
    this.cache.delete(r.productKey);
  }

  /**
   * The enabled rules of a product as the cache holds them right now, or undefined when it holds
   * none fresh: lets the evaluation path skip a post without a promise (alert-engine.ts).
   */
  cached(productKey: string): readonly AlertRuleRecord[] | undefined {
    const hit = this.cache.get(productKey);
    return hit && this.clock() - hit.at < CACHE_MS ? hit.rules : undefined;
  }

  /** The enabled rules of a product, for evaluation (cached briefly: other nodes may change them). */
  async ofProduct(productKey: string): Promise<AlertRuleRecord[]> {
    const now = this.clock();
    const hit = this.cache.get(productKey);
    if (hit && now - hit.at < CACHE_MS) return hit.rules;
    const rules = (await this.records.find({ productKey, enabled: true }, { limit: MAX_RULES_PER_PRODUCT })).items;
    this.cache.set(productKey, { at: now, rules });
    return rules;
  }
}

/** A rule as the API shows it: the webhook secret never again after creation. */
export function ruleView(r: AlertRuleRecord): Omit<AlertRuleRecord, 'webhookSecret'> {
  const { webhookSecret: _secret, ...rest } = r;
  return rest;
}
