/**
 * `thing.attribute.update|query|delete` (docs/ENOS-PROTOCOL.md §4.1): device attributes live on the
 * device record in the registry, so the REST API and the device see the same values.
 */
import { EnosError, codes } from '@edgehub/shared';
import type { DeviceIdentity } from '../sessions/sessions.js';
import type { DeviceRecord } from '../registry/records.js';
import type { RouterDeps, UpstreamHandler } from './context.js';
import { ModelCache, asMqttError, checkAttributeValues, hasOwn, requireObject, requireStringArray } from './model-check.js';

/** §4.1 attribute codes; the shared table does not carry them yet. */
// The attribute codes of docs/ENOS-PROTOCOL.md §4.1, from the one code table.
export const attributeCodes = {
  updateFailed: codes.attributeUpdateFailed,
  queryFailed: codes.attributeQueryFailed,
  deleteFailed: codes.attributeDeleteFailed,
} as const;

export const attributeUpdate: UpstreamHandler = async (req, deps) => {
  const params = requireObject(req.request.params, 'params');
  const attrs = requireObject(params['attributes'], 'params.attributes');
  const n = Object.keys(attrs).length;
  const max = deps.limits.maxAttributesPerRequest;
  if (n > max)
    throw new EnosError(
      attributeCodes.updateFailed,
      `Attribute update failed: params.attributes holds ${n} attributes, at most ${max} are allowed`,
    );
  if (n === 0) return { data: {} };
  checkAttributeValues(await new ModelCache(deps.registry).of(req.target), attrs, 'params.attributes');
  try {
    await deps.registry.devices.update(req.target.orgId, { assetId: req.target.assetId }, { deviceAttributes: attrs }, true, deps.clock());
  } catch (e) {
    asMqttError(e, codes.modelValidationFailed);
  }
  return { data: {} };
};

/**
 * Empty list = every attribute the device has. An id the thing model does not declare is an
 * error (1208), so a typo is not answered with silence; a declared attribute without a value is
 * simply absent from the answer.
 */
export const attributeQuery: UpstreamHandler = async (req, deps) => {
  const params = requireObject(req.request.params, 'params');
  const ids = requireStringArray(params['attributes'] ?? [], 'params.attributes');
  const max = deps.limits.maxAttributesPerRequest;
  if (ids.length > max)
    throw new EnosError(
      attributeCodes.queryFailed,
      `Attribute query failed: params.attributes names ${ids.length} attributes, at most ${max} are allowed`,
    );
  const device = await record(deps, req.target, attributeCodes.queryFailed);
  const stored = device.deviceAttributes;
  if (ids.length === 0) return { data: { ...stored } };
  const model = await new ModelCache(deps.registry).of(req.target);
  const unknown = ids.filter((id) => !hasOwn(model.attributes, id));
  if (unknown.length > 0)
    throw new EnosError(attributeCodes.queryFailed, `Attribute query failed: ${unknown.join(', ')} not attributes of the thing model`);
  return { data: Object.fromEntries(ids.filter((id) => hasOwn(stored, id)).map((id) => [id, stored[id]])) };
};

/**
 * Removes the named attributes; naming one the device does not have is not an error. An empty
 * list deletes nothing and is refused (1209): unlike query, "empty = all" would be destructive.
 */
export const attributeDelete: UpstreamHandler = async (req, deps) => {
  const params = requireObject(req.request.params, 'params');
  const ids = requireStringArray(params['attributes'], 'params.attributes');
  const max = deps.limits.maxAttributesPerRequest;
  if (ids.length === 0) throw new EnosError(attributeCodes.deleteFailed, 'Attribute delete failed: params.attributes names no attribute');
  if (ids.length > max)
    throw new EnosError(
      attributeCodes.deleteFailed,
      `Attribute delete failed: params.attributes names ${ids.length} attributes, at most ${max} are allowed`,
    );
  const device = await record(deps, req.target, attributeCodes.deleteFailed);
  const drop = new Set(ids);
  if (!Object.keys(device.deviceAttributes).some((id) => drop.has(id))) return { data: {} };
  const remaining = Object.fromEntries(Object.entries(device.deviceAttributes).filter(([id]) => !drop.has(id)));
  try {
    // Whole-map replace (not a patch): the only way to remove keys through the repository.
    await deps.registry.devices.update(
      req.target.orgId,
      { assetId: req.target.assetId },
      { deviceAttributes: remaining },
      false,
      deps.clock(),
    );
  } catch (e) {
    if (e instanceof EnosError) throw new EnosError(attributeCodes.deleteFailed, `Attribute delete failed: ${e.message}`);
    throw e;
  }
  return { data: {} };
};

async function record(deps: RouterDeps, target: DeviceIdentity, code: number): Promise<DeviceRecord> {
  const d = await deps.registry.devices.find({ assetId: target.assetId });
  if (!d) throw new EnosError(code, `Device ${target.productKey}&${target.deviceKey} cannot be found`);
  return d;
}
