/** `thing.event.{eventId}.post` (docs/ENOS-PROTOCOL.md §4.1). */
import { EnosError, codes } from '@edgehub/shared';
import type { UpstreamHandler } from './context.js';
import { ModelCache, checkEvent, isObject, optionalTime, requireObject, shapeError } from './model-check.js';

export const eventPost: UpstreamHandler = async (req, deps) => {
  if (req.topic.kind !== 'eventPost') throw new EnosError(codes.internal, `eventPost cannot handle ${req.topic.kind}`);
  const eventId = req.topic.eventId;
  const params = requireObject(req.request.params, 'params');
  // The SDKs send `events`; some clients send `values` instead. `events` wins when both are there.
  const field = params['events'] !== undefined ? 'events' : params['values'] !== undefined ? 'values' : undefined;
  if (field === undefined) throw shapeError('params.events', 'must be a JSON object');
  const raw = params[field];
  if (!isObject(raw)) throw shapeError(`params.${field}`, 'must be a JSON object');
  const time = optionalTime(params['time'], 'params.time', deps.clock);
  const model = await new ModelCache(deps.registry).of(req.target);
  const values = checkEvent(model, eventId, raw, `params.${field}`);
  await deps.ingest.event(req.target, eventId, values, time, { hubTime: params['time'] === undefined });
  return { data: {} };
};
