import { dataTypes, type FieldSpec, type ThingModel } from '../api/types.js';

/**
 * Checks a thing model as the hub's product schema does (docs/PROTOCOL.md, products), so the editor
 * can point at the exact field before anything is sent. The hub checks again on save.
 */
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
const SECTIONS = ['measurepoints', 'attributes', 'events', 'services'] as const;
const FIELD_KEYS = new Set(['dataType', 'enumValues', 'maxLength', 'unit', 'name', 'hasQuality', 'required', 'itemType']);

export interface ModelProblem {
  path: string;
  message: string;
}

export function parseThingModel(text: string): { model?: ThingModel; problems: ModelProblem[] } {
  if (text.trim() === '') return { model: {}, problems: [] };
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    return { problems: [{ path: '(document)', message: `not JSON: ${e instanceof Error ? e.message : String(e)}` }] };
  }
  const problems = checkThingModel(value);
  return problems.length ? { problems } : { model: value as ThingModel, problems };
}

export function checkThingModel(value: unknown): ModelProblem[] {
  const problems: ModelProblem[] = [];
  if (!isObject(value)) return [{ path: '(document)', message: 'a thing model is a JSON object' }];
  for (const key of Object.keys(value)) {
    if (!(SECTIONS as readonly string[]).includes(key))
      problems.push({ path: key, message: `unknown section; expected ${SECTIONS.join(', ')}` });
  }
  for (const section of SECTIONS) {
    const entries = value[section];
    if (entries === undefined) continue;
    if (!isObject(entries)) {
      problems.push({ path: section, message: 'must be an object of identifier → definition' });
      continue;
    }
    for (const [id, def] of Object.entries(entries)) {
      const path = `${section}.${id}`;
      if (!IDENTIFIER.test(id)) problems.push({ path, message: 'identifier: a letter or _, then up to 63 of A-Z a-z 0-9 _ . -' });
      if (section === 'measurepoints' || section === 'attributes') checkField(def, path, problems);
      else if (section === 'services') {
        if (!isObject(def)) problems.push({ path, message: 'must be an object' });
        else {
          if (def.callType !== undefined && def.callType !== 'SYNC' && def.callType !== 'ASYNC')
            problems.push({ path: `${path}.callType`, message: 'SYNC or ASYNC' });
          for (const io of ['inputData', 'outputData'] as const) {
            const params = def[io];
            if (params === undefined) continue;
            if (!isObject(params)) problems.push({ path: `${path}.${io}`, message: 'must be an object of parameters' });
            else for (const [p, spec] of Object.entries(params)) checkField(spec, `${path}.${io}.${p}`, problems);
          }
        }
      } else if (!isObject(def)) problems.push({ path, message: 'must be an object' });
    }
  }
  return problems;
}

function checkField(def: unknown, path: string, problems: ModelProblem[], depth = 0): void {
  if (!isObject(def)) {
    problems.push({ path, message: 'must be an object with a dataType' });
    return;
  }
  for (const k of Object.keys(def)) if (!FIELD_KEYS.has(k)) problems.push({ path: `${path}.${k}`, message: 'unknown property' });
  const t = def.dataType;
  if (typeof t !== 'string' || !(dataTypes as readonly string[]).includes(t))
    problems.push({ path: `${path}.dataType`, message: `one of ${dataTypes.join(', ')}` });
  if (t === 'ENUM' && (!Array.isArray(def.enumValues) || def.enumValues.length === 0))
    problems.push({ path: `${path}.enumValues`, message: 'an ENUM lists its values' });
  if (def.unit !== undefined && (typeof def.unit !== 'string' || def.unit.length > 32))
    problems.push({ path: `${path}.unit`, message: 'a string of at most 32 characters' });
  if (def.maxLength !== undefined && (!Number.isInteger(def.maxLength) || (def.maxLength as number) < 1))
    problems.push({ path: `${path}.maxLength`, message: 'a positive integer' });
  if (t === 'ARRAY') {
    if (depth > 3) problems.push({ path, message: 'arrays nest at most 4 deep' });
    else if (def.itemType === undefined) problems.push({ path: `${path}.itemType`, message: 'an ARRAY names its itemType' });
    else checkField(def.itemType, `${path}.itemType`, problems, depth + 1);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value typed in a form field, converted to the field's data type; a string explains a bad one. */
export function coerce(spec: FieldSpec, text: string): unknown {
  const s = text.trim();
  switch (spec.dataType) {
    case 'INT':
    case 'TIMESTAMP': {
      if (!/^-?\d+$/.test(s)) return new Error('a whole number');
      return Number(s);
    }
    case 'FLOAT':
    case 'DOUBLE': {
      const n = Number(s);
      if (s === '' || !Number.isFinite(n)) return new Error('a number');
      return n;
    }
    case 'BOOL':
      if (s === 'true' || s === '1') return 1;
      if (s === 'false' || s === '0') return 0;
      return new Error('true or false');
    case 'ENUM': {
      const hit = spec.enumValues?.find((v) => String(v) === s);
      return hit ?? new Error(`one of ${(spec.enumValues ?? []).join(', ')}`);
    }
    case 'ARRAY':
    case 'STRUCT':
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return new Error('JSON');
      }
    default:
      return text;
  }
}
