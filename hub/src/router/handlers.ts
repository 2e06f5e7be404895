import type { TopicKind } from '@edgehub/shared';
import type { UpstreamHandler } from './context.js';
import { gatewayHandlers } from './gateway-handlers.js';
import { thingHandlers } from './thing-handlers.js';

/** Every upstream topic kind the hub answers, by family (docs/ENOS-PROTOCOL.md §4.1). */
export const upstreamHandlers: Partial<Record<TopicKind, UpstreamHandler>> = { ...thingHandlers, ...gatewayHandlers };
