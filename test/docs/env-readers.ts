/**
 * Which environment variables the code reads, found in its source: `env['NAME']`, `env.NAME`, full
 * names in string literals (`int('HUB_HTTP_PORT', …)`), and prefixed readers such as the certificate
 * service's `get('PORT')` over `env[`CERT_SERVICE_${name}`]` (docs/CONFIGURATION.md lists them all).
 */
const direct = /\benv(?:\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]|\.([A-Z][A-Z0-9_]*)\b)/g;
const prefixedLiteral = /['"`]((?:HUB|EDGE|EDGEHUB|CERT_SERVICE|DEMO)_[A-Z0-9_]*[A-Z0-9])['"`]/g;
const prefixedReader = /\benv\[\s*`([A-Z][A-Z0-9_]*_)\$\{\s*\w+\s*\}`\s*\]/;
const readerCall = /\b(?:get|int|bool)\(\s*'([A-Z][A-Z0-9_]*)'/g;
const templateCall = /\b(?:get|int|bool)\(\s*`([A-Z0-9_]*)\$\{\s*(\w+)\s*\}`\s*\)/g;

export function variablesReadIn(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(direct)) names.add((m[1] ?? m[2])!);
  for (const m of source.matchAll(prefixedLiteral)) names.add(m[1]!);
  const prefix = prefixedReader.exec(source)?.[1];
  if (prefix) {
    for (const m of source.matchAll(readerCall)) names.add(prefix + m[1]);
    for (const m of source.matchAll(templateCall)) {
      // `for (const field of ['C', 'ST'] as const) … get(`CA_${field}`)`
      const loop = new RegExp(`for\\s*\\(\\s*const\\s+${m[2]}\\s+of\\s+\\[([^\\]]*)\\]`).exec(source);
      for (const item of loop?.[1]?.matchAll(/'([A-Z0-9_]+)'/g) ?? []) names.add(prefix + m[1] + item[1]);
    }
  }
  return names;
}

/** The variables of a docs/CONFIGURATION.md table: rows whose first cell is a `NAME` in backticks. */
export function variablesDocumented(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const m of markdown.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)) names.add(m[1]!);
  return names;
}
