import type { CollectionSpec } from '../store/port.js';

/** Alert rules and alerts (docs/PROTOCOL.md §7.4), in the shape of the EnOS alert service where practical. */

export const severities = ['info', 'warning', 'major', 'critical'] as const;
export type Severity = (typeof severities)[number];
export const operators = ['gt', 'gte', 'lt', 'lte', 'eq', 'ne'] as const;
export type Operator = (typeof operators)[number];

export interface Condition {
  op: Operator;
  value: number | string | boolean;
}

/** What a rule watches: a measurepoint, or a field of an event's output. */
export type AlertSource = { measurepoint: string } | { eventId: string; field: string };

export interface AlertRuleRecord {
  ruleId: string;
  orgId: string;
  productKey: string;
  /** Only this device of the product; every device when absent. */
  deviceKey?: string;
  name: string;
  severity: Severity;
  source: AlertSource;
  trigger: Condition;
  /** When the alert closes by itself; "the trigger no longer holds" when absent. */
  recovery?: Condition;
  /** The trigger must hold this long (judged on the data's own timestamps) before an alert opens. */
  durationSeconds: number;
  enabled: boolean;
  webhookUrl?: string;
  /** HMAC-SHA256 key of the webhook signature; shown once, when the rule is created. */
  webhookSecret?: string;
  createTime: number;
}

export type AlertStatus = 'open' | 'acknowledged' | 'closed';

export interface AlertRecord {
  alertId: string;
  orgId: string;
  ruleId: string;
  ruleName: string;
  severity: Severity;
  assetId: string;
  productKey: string;
  deviceKey: string;
  status: AlertStatus;
  triggerValue: unknown;
  triggerTime: number;
  recoverValue?: unknown;
  recoverTime?: number;
  ackTime?: number;
  ackBy?: string;
  closeTime?: number;
  closedBy?: 'recovery' | 'manual';
  updateTime: number;
}

export const alertSpecs = {
  rules: { name: 'alertRules', key: 'ruleId', indexes: ['orgId', 'productKey'] },
  alerts: { name: 'alerts', key: 'alertId', indexes: ['orgId', 'ruleId', 'assetId', 'status'] },
} satisfies Record<string, CollectionSpec>;

/** How an alert changed, as published on the stream and to the webhook. */
export type AlertChange = 'opened' | 'acknowledged' | 'closed';
