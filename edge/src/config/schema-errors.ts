import type { ErrorObject } from 'ajv';

/** Where in the file a schema error is, as a dotted key path: `southbound.devices[0].port`. */
function where(e: ErrorObject): string {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : `.${seg.replace(/~1/g, '/').replace(/~0/g, '~')}`))
    .join('')
    .replace(/^\./, '');
  if (e.keyword === 'additionalProperties')
    return `${path ? path + '.' : ''}${(e.params as { additionalProperty: string }).additionalProperty}`;
  if (e.keyword === 'required') return `${path ? path + '.' : ''}${(e.params as { missingProperty: string }).missingProperty}`;
  return path || '(root)';
}

function explain(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return 'is not a known key';
  if (e.keyword === 'required') return 'is required';
  // Name what is allowed, not just that the value is not it.
  if (e.keyword === 'enum')
    return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (e.keyword === 'const') return `must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
  return e.message ?? 'is invalid';
}

/** The first schema error as `key.path what is wrong`; `if` only says its `then` failed, so the `then` error is used. */
export function describeSchemaError(errors: readonly ErrorObject[]): string {
  const e = errors.find((x) => x.keyword !== 'if') ?? errors[0]!;
  return `${where(e)} ${explain(e)}`;
}
