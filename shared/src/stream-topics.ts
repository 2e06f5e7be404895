import { topics } from './topics.js';

/**
 * The application stream's topics: a read-only, org-scoped namespace that carries an
 * organization's device data and lifecycle (our own, EnOS has no MQTT application stream).
 *
 *   org/{orgId}/devices/{productKey}/{deviceKey}/measurepoints
 *   org/{orgId}/devices/{productKey}/{deviceKey}/events/{eventId}
 *   org/{orgId}/devices/{productKey}/{deviceKey}/lifecycle
 *   org/{orgId}/devices/{productKey}/{deviceKey}/alerts
 *
 * Applications subscribe with wildcards below `org/{orgId}/`; nobody publishes there but the hub.
 */
export const streamTopics = {
  measurepoints: (orgId: string, pk: string, dk: string): string => `${deviceBase(orgId, pk, dk)}/measurepoints`,
  event: (orgId: string, pk: string, dk: string, eventId: string): string => `${deviceBase(orgId, pk, dk)}/events/${segment(eventId)}`,
  lifecycle: (orgId: string, pk: string, dk: string): string => `${deviceBase(orgId, pk, dk)}/lifecycle`,
  alerts: (orgId: string, pk: string, dk: string): string => `${deviceBase(orgId, pk, dk)}/alerts`,
  /** Everything of one organization. */
  orgFilter: (orgId: string): string => `org/${segment(orgId)}/#`,
  /** The org a topic or filter belongs to, if it is in the stream namespace. */
  orgOf(topicOrFilter: string): string | undefined {
    const m = /^org\/([^/+#]+)(\/|$)/.exec(topicOrFilter);
    return m?.[1];
  },
} as const;

function deviceBase(orgId: string, pk: string, dk: string): string {
  return `org/${segment(orgId)}/devices/${segment(pk)}/${segment(dk)}`;
}

function segment(s: string): string {
  if (!topics.isValidSegment(s)) throw new Error(`invalid topic segment: ${JSON.stringify(s)}`);
  return s;
}
