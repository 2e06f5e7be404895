/** The upstream handlers for device data topics, by topic kind (docs/ENOS-PROTOCOL.md §4.1). */
import type { TopicKind } from '@edgehub/shared';
import { attributeDelete, attributeQuery, attributeUpdate } from './attribute.js';
import { connectionStatePost } from './connection-state.js';
import type { UpstreamHandler } from './context.js';
import { eventPost } from './event.js';
import { measurepointPost, measurepointPostBatch, measurepointResume, measurepointResumeBatch } from './measurepoint.js';
import { tagDelete, tagQuery, tagUpdate } from './tag.js';
import { tslTemplateGet } from './tsl-template.js';

export const thingHandlers: Partial<Record<TopicKind, UpstreamHandler>> = {
  measurepointPost,
  measurepointPostBatch,
  measurepointResume,
  measurepointResumeBatch,
  eventPost,
  attributeUpdate,
  attributeQuery,
  attributeDelete,
  tagUpdate,
  tagQuery,
  tagDelete,
  tslTemplateGet,
  connectionStatePost,
};
