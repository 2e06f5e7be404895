/** `thing.tsltemplate.get` (docs/ENOS-PROTOCOL.md §4.1): the product's thing model in the Java SDK's shape. */
import type { UpstreamHandler } from './context.js';
import { ModelCache } from './model-check.js';

/** Each spec as declared, with its id added as `identifier` (the TSL field name). */
function withIdentifiers<T extends object>(specs: Record<string, T>): Record<string, T & { identifier: string }> {
  return Object.fromEntries(Object.entries(specs).map(([id, spec]) => [id, { ...spec, identifier: id }]));
}

// Params are ignored: the request carries `{}` and asks about the topic's device only.
export const tslTemplateGet: UpstreamHandler = async (req, deps) => {
  const model = await new ModelCache(deps.registry).of(req.target);
  return {
    data: {
      tslAttributeMap: withIdentifiers(model.attributes),
      tslMeasurepointMap: withIdentifiers(model.measurepoints),
      tslEventMap: withIdentifiers(model.events),
      tslServiceMap: withIdentifiers(model.services),
    },
  };
};
