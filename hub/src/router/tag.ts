/**
 * `thing.tag.update|query|delete` (docs/ENOS-PROTOCOL.md §4.1, §8). Tags are free-form strings on the
 * device record, shared with the REST API. §4.1 names no error code for tags, so every refusal
 * of well-formed params is 1204; params of the wrong JSON shape are 1220 like everywhere else.
 */
import { EnosError, codes } from '@edgehub/shared';
import { MAX_TAGS } from '../registry/devices.js';
import type { DeviceRecord } from '../registry/records.js';
import type { RouterDeps, UpstreamHandler, UpstreamRequest } from './context.js';
import { asMqttError, hasOwn, isObject, modelError, requireArray, requireObject, requireStringArray, shapeError } from './model-check.js';

/**
 * The union of both documented key grammars — MQTT `[A-Za-z_][A-Za-z0-9_]*` (§4.1) and REST
 * `[A-Za-z0-9_\-/]` (§8) — so a tag set through either API can be read and deleted through the
 * other, with the longer MQTT length limit.
 */
const TAG_KEY = /^[A-Za-z0-9_\-/]{1,100}$/;
const MAX_TAG_VALUE = 200;

export const tagUpdate: UpstreamHandler = async (req, deps) => {
  const items = requireArray(req.request.params, 'params');
  const max = deps.limits.maxAttributesPerRequest;
  if (items.length > max) throw modelError(`params holds ${items.length} tags, at most ${max} are allowed`);
  const tags = new Map<string, string>();
  for (const [i, item] of items.entries()) {
    const field = `params[${i}]`;
    if (!isObject(item)) throw shapeError(field, 'must be a JSON object {tagKey, tagValue}');
    const { tagKey, tagValue } = item;
    if (typeof tagKey !== 'string') throw shapeError(`${field}.tagKey`, 'must be a string');
    if (typeof tagValue !== 'string') throw shapeError(`${field}.tagValue`, 'must be a string');
    if (!TAG_KEY.test(tagKey)) throw modelError(`${field}.tagKey must be 1–100 characters of A-Z a-z 0-9 _ - /`);
    if (tagValue.length > MAX_TAG_VALUE) throw modelError(`${field}.tagValue is longer than ${MAX_TAG_VALUE} characters`);
    // Strict: the same key twice in one request is ambiguous, not "last one wins".
    if (tags.has(tagKey)) throw modelError(`${field}.tagKey ${tagKey} appears twice in the request`);
    tags.set(tagKey, tagValue);
  }
  if (tags.size === 0) return { data: {} };
  const device = await record(deps, req);
  const total = new Set([...Object.keys(device.deviceTags), ...tags.keys()]).size;
  if (total > MAX_TAGS) throw modelError(`the device would have ${total} tags, at most ${MAX_TAGS} are allowed`);
  try {
    await deps.registry.devices.update(
      req.target.orgId,
      { assetId: req.target.assetId },
      { deviceTags: Object.fromEntries(tags) },
      true,
      deps.clock(),
    );
  } catch (e) {
    asMqttError(e, codes.modelValidationFailed);
  }
  return { data: {} };
};

/** Empty list = all tags. Tags have no schema, so a key the device does not have is just absent. */
export const tagQuery: UpstreamHandler = async (req, deps) => {
  const params = requireObject(req.request.params, 'params');
  const keys = requireStringArray(params['tags'] ?? [], 'params.tags');
  const max = deps.limits.maxAttributesPerRequest;
  if (keys.length > max) throw modelError(`params.tags names ${keys.length} tags, at most ${max} are allowed`);
  const device = await record(deps, req);
  const stored = device.deviceTags;
  if (keys.length === 0) return { data: { ...stored } };
  return { data: Object.fromEntries(keys.filter((k) => hasOwn(stored, k)).map((k) => [k, stored[k]])) };
};

/** An empty list is refused: unlike query, "empty = all" would be destructive. */
export const tagDelete: UpstreamHandler = async (req, deps) => {
  const params = requireObject(req.request.params, 'params');
  const keys = requireStringArray(params['tags'], 'params.tags');
  if (keys.length === 0) throw modelError('params.tags names no tag');
  const max = deps.limits.maxAttributesPerRequest;
  if (keys.length > max) throw modelError(`params.tags names ${keys.length} tags, at most ${max} are allowed`);
  const device = await record(deps, req);
  const drop = new Set(keys);
  if (!Object.keys(device.deviceTags).some((k) => drop.has(k))) return { data: {} };
  const remaining = Object.fromEntries(Object.entries(device.deviceTags).filter(([k]) => !drop.has(k)));
  try {
    // Whole-map replace (not a patch): the only way to remove keys through the repository.
    await deps.registry.devices.update(req.target.orgId, { assetId: req.target.assetId }, { deviceTags: remaining }, false, deps.clock());
  } catch (e) {
    asMqttError(e, codes.modelValidationFailed);
  }
  return { data: {} };
};

async function record(deps: RouterDeps, req: UpstreamRequest): Promise<DeviceRecord> {
  const d = await deps.registry.devices.find({ assetId: req.target.assetId });
  if (!d) throw new EnosError(codes.modelValidationFailed, `Device ${req.target.productKey}&${req.target.deviceKey} cannot be found`);
  return d;
}
