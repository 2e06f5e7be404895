/**
 * Params and thing-model checks shared by the device data handlers (docs/ENOS-PROTOCOL.md §4.1).
 *
 * Two kinds of failure, kept apart on purpose:
 *  - the params are not the documented JSON shape (a field missing or of the wrong JSON type):
 *    1220 "Payload format error" — the protocol's code for a payload that cannot be read as the
 *    request it claims to be;
 *  - the shape is right but the content breaks a rule (the thing model, a range, a limit): 1204,
 *    or the family's own code where §4.1 lists one (attributes: 1207/1208/1209).
 * Every message names the field, so an operator can find the offending reading.
 */
import { EnosError, codes } from '@edgehub/shared';
import type { DeviceIdentity } from '../sessions/sessions.js';
import type { MeasurepointSample } from '../telemetry/ingest.js';
import type { Registry } from '../registry/registry.js';
import { compiledMeasurepoints } from '../registry/compiled-model.js';
import { checkValue, type ThingModel, type TypeSpec } from '../registry/thing-model.js';

export type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function shapeError(field: string, expected: string): EnosError {
  return new EnosError(codes.payloadFormatError, `Payload format error: ${field} ${expected}`);
}

export function modelError(reason: string): EnosError {
  return new EnosError(codes.modelValidationFailed, `Model validation failed: ${reason}`);
}

export function requireObject(v: unknown, field: string): JsonObject {
  if (!isObject(v)) throw shapeError(field, 'must be a JSON object');
  return v;
}

export function requireArray(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) throw shapeError(field, 'must be a JSON array');
  return v;
}

export function requireStringArray(v: unknown, field: string): string[] {
  const items = requireArray(v, field);
  items.forEach((item, i) => {
    if (typeof item !== 'string') throw shapeError(`${field}[${i}]`, 'must be a string');
  });
  return items as string[];
}

/** A flag beside `params` (e.g. `allowOfflineSubDevice`): absent means false, anything but a boolean is refused. */
export function optionalFlag(v: unknown, field: string): boolean {
  if (v === undefined) return false;
  if (typeof v !== 'boolean') throw shapeError(field, 'must be a boolean');
  return v;
}

/**
 * A report time in epoch ms; absent means now. Fractional milliseconds are truncated rather
 * than refused: dropping a reading over sub-millisecond precision helps nobody.
 */
export function optionalTime(v: unknown, field: string, clock: () => number): number {
  if (v === undefined) return clock();
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw shapeError(field, 'must be a non-negative number of epoch milliseconds');
  return Math.trunc(v);
}

export const hasOwn = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

/** Thing models of the products one request touches, each looked up once per request. */
export class ModelCache {
  private readonly byProduct = new Map<string, Promise<ThingModel>>();

  constructor(private readonly registry: Registry) {}

  of(device: DeviceIdentity): Promise<ThingModel> {
    let model = this.byProduct.get(device.productKey);
    if (!model) {
      model = this.registry.products.byKey(device.productKey).then((p) => {
        // Products with devices cannot be deleted; a missing one means the device is orphaned.
        if (!p || p.orgId !== device.orgId) throw modelError(`product ${device.productKey} has no thing model`);
        return p.thingModel;
      });
      this.byProduct.set(device.productKey, model);
    }
    return model;
  }
}

/** `{value, quality}` exactly: the form of a reading that carries a quality (§4.1). */
function isSampleObject(v: unknown): v is { value: unknown; quality: unknown } {
  if (!isObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 2 && hasOwn(v, 'value') && hasOwn(v, 'quality');
}

/**
 * Quality is an integer 0–9 (§8). A one-digit string is accepted too: the Java SDK passes the
 * quality through untyped and its own request example sends `"quality": "9"`.
 */
function parseQuality(q: unknown): number | undefined {
  if (typeof q === 'number' && Number.isInteger(q) && q >= 0 && q <= 9) return q;
  if (typeof q === 'string' && /^[0-9]$/.test(q)) return Number(q);
  return undefined;
}

/** One reading against its spec (undefined spec = schema-less): the sample, or why it was refused. */
function checkReading(
  spec: (TypeSpec & { hasQuality?: boolean }) | undefined,
  raw: unknown,
  field: string,
  qualityAllowed: boolean,
): MeasurepointSample | string {
  // A STRUCT spec without a declared quality reads `{value, quality}` as its own fields.
  if (isSampleObject(raw) && (spec === undefined || qualityAllowed || spec.dataType !== 'STRUCT')) {
    if (!qualityAllowed) return `${field} does not carry a quality; send a plain value`;
    const quality = parseQuality(raw.quality);
    if (quality === undefined) return `${field}.quality must be an integer 0–9`;
    const reason = spec ? checkValue(spec, raw.value, `${field}.value`) : undefined;
    return reason ?? { value: raw.value, quality };
  }
  const reason = spec ? checkValue(spec, raw, field) : undefined;
  return reason ?? { value: raw };
}

export interface MeasurepointCheck {
  /** Drop the readings the model refuses instead of failing (post/batch `skipInvalidMeasurepoints`). */
  skipInvalid: boolean;
  /** With skipInvalid: where the dropped readings are listed, each with why (the reply names them). */
  skipped?: { id: string; reason: string }[];
}

/**
 * Measurepoints against the product's model. A model that declares no measurepoints is
 * schema-less and accepts any point, with or without quality.
 */
export function checkMeasurepoints(
  model: ThingModel,
  raw: JsonObject,
  field: string,
  { skipInvalid, skipped }: MeasurepointCheck,
): Record<string, MeasurepointSample> {
  const { schemaLess, points } = compiledMeasurepoints(model);
  const accepted: [string, MeasurepointSample][] = [];
  for (const id of Object.keys(raw)) {
    const value = raw[id];
    const point = schemaLess ? undefined : points.get(id);
    // A plain value that certainly fits needs no error path (registry/compiled-model.ts).
    if (point?.fits(value)) {
      accepted.push([id, { value }]);
      continue;
    }
    const path = `${field}.${id}`;
    const result = schemaLess
      ? checkReading(undefined, value, path, true)
      : point
        ? checkReading(point.spec, value, path, point.hasQuality)
        : `${path} is not a measurepoint of the thing model`;
    if (typeof result !== 'string') accepted.push([id, result]);
    else if (!skipInvalid) throw modelError(result);
    else skipped?.push({ id, reason: result });
  }
  // fromEntries defines own properties, so a point named `__proto__` cannot reach a prototype.
  return Object.fromEntries(accepted);
}

/**
 * An event's output parameters against the model. A model with no events is schema-less; a
 * declared event accepts exactly its `outputData` (an event with none accepts no parameters).
 * Values may carry a quality like measurepoints do (§4.1 example); they are passed on as sent.
 */
export function checkEvent(model: ThingModel, eventId: string, raw: JsonObject, field: string): JsonObject {
  if (Object.keys(model.events).length === 0) return raw;
  const event = hasOwn(model.events, eventId) ? model.events[eventId] : undefined;
  if (!event) throw modelError(`event ${eventId} is not an event of the thing model`);
  for (const [id, value] of Object.entries(raw)) {
    const path = `${field}.${id}`;
    const spec = hasOwn(event.outputData, id) ? event.outputData[id] : undefined;
    if (!spec) throw modelError(`${path} is not an output parameter of event ${eventId}`);
    const result = checkReading(spec, value, path, true);
    if (typeof result === 'string') throw modelError(result);
  }
  return raw;
}

/** Attribute values against the model; attributes have no schema-less mode (the registry refuses undeclared ones). */
export function checkAttributeValues(model: ThingModel, raw: JsonObject, field: string): void {
  for (const [id, value] of Object.entries(raw)) {
    const path = `${field}.${id}`;
    const spec = hasOwn(model.attributes, id) ? model.attributes[id] : undefined;
    if (!spec) throw modelError(`${path} is not an attribute of the thing model`);
    const reason = checkValue(spec, value, path);
    if (reason) throw modelError(reason);
  }
}

/** Re-throws a registry validation error (99400) under the MQTT family's code; anything else as is. */
export function asMqttError(e: unknown, code: number): never {
  if (e instanceof EnosError && e.code === codes.invalidArgument) throw new EnosError(code, e.message);
  throw e;
}
