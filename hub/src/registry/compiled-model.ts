/**
 * A product's measurepoint checks prepared once per thing model instead of on every post
 * (docs/BENCHMARKS.md, "MQTT fan-in: where the time goes"): whether the model is schema-less, each
 * point's spec by id, and for the plain scalar types a test that accepts a fitting value without
 * building the error path a refusal would name.
 *
 * Kept per model object, weakly: the product record that holds the model is what the registry's
 * record cache hands out (registry/record-cache.ts), and a product change replaces that record, so
 * a changed model is a new object and is prepared afresh; the old one is dropped with its record.
 * Where the record cache is off (a cluster, whose other nodes cannot drop it) every read is a new
 * record and the preparation is redone per post, which costs about what the check it replaces did.
 */
import { plainValueFits, type MeasurepointSpec, type ThingModel } from './thing-model.js';

export interface CompiledPoint {
  spec: MeasurepointSpec;
  hasQuality: boolean;
  /** True when `value` certainly fits the spec as a plain value; false means "check it fully". */
  fits: (value: unknown) => boolean;
}

export interface CompiledMeasurepoints {
  /** A model that declares no measurepoints accepts any point. */
  schemaLess: boolean;
  points: Map<string, CompiledPoint>;
}

const compiled = new WeakMap<ThingModel, CompiledMeasurepoints>();

export function compiledMeasurepoints(model: ThingModel): CompiledMeasurepoints {
  let c = compiled.get(model);
  if (!c) {
    const points = new Map<string, CompiledPoint>();
    for (const id of Object.keys(model.measurepoints)) {
      const spec = model.measurepoints[id]!;
      points.set(id, { spec, hasQuality: spec.hasQuality === true, fits: plainValueFits(spec) });
    }
    c = { schemaLess: points.size === 0, points };
    compiled.set(model, c);
  }
  return c;
}
