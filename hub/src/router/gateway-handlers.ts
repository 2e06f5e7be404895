import type { TopicKind } from '@edgehub/shared';
import { combineLogin, combineLoginBatch, combineLogout } from './combine.js';
import type { UpstreamHandler } from './context.js';
import { deviceRegister } from './device-register.js';
import { topoAdd, topoDelete, topoGet } from './topo.js';

/**
 * Upstream handlers of the gateway topics (docs/ENOS-PROTOCOL.md §4.4, §5). Only a gateway acting for
 * itself may use them: topo add/delete refuse with 1255/1256 (their documented codes), everything
 * else with 1200 "not a gateway" (documented for topo get only; EnOS names no code for the rest).
 */
export const gatewayHandlers: Partial<Record<TopicKind, UpstreamHandler>> = {
  topoAdd,
  topoDelete,
  topoGet,
  deviceRegister,
  combineLogin,
  combineLoginBatch,
  combineLogout,
};
