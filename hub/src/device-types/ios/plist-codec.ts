import plist from 'plist';
import { mdmErrors } from './errors.js';
import { parseXmlPlist, PlistSyntaxError, type PlistValue } from './plist-xml.js';

export type PlistDict = Record<string, plist.PlistValue>;

/** Check-in and command-report bodies are small; anything above this is refused (413). */
export const defaultMaxPlistBytes = 256 * 1024;

/**
 * Parses an XML property list sent by a device. Only a top-level dictionary is accepted, a DOCTYPE
 * with an internal subset (entity declarations) is refused before parsing, and every failure is a
 * 400 — never an exception that escapes the request (docs/DEVICE-MANAGEMENT.md, "Apple: errors").
 * The reader is plist-xml.ts (strict, no DOM: docs/BENCHMARKS.md, "Apple MDM: the command loop").
 */
export function parsePlistDict(body: Buffer | string, maxBytes = defaultMaxPlistBytes): PlistDict {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  if (size > maxBytes) throw mdmErrors.tooLarge(maxBytes);
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') throw mdmErrors.malformedPlist('empty body');
  if (/<!ENTITY/i.test(text)) throw mdmErrors.malformedPlist('entity declarations are not allowed');
  if (!/<plist[\s>]/.test(text)) throw mdmErrors.malformedPlist('not an XML property list');
  let value: PlistValue;
  try {
    value = parseXmlPlist(text);
  } catch (err) {
    if (err instanceof PlistSyntaxError) throw mdmErrors.malformedPlist('not well-formed XML');
    throw err;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || Buffer.isBuffer(value) || value instanceof Date) {
    throw mdmErrors.malformedPlist('the top level must be a dict');
  }
  return value;
}

/** Serializes a dictionary as an XML property list (plist 1.0 DOCTYPE, UTF-8). */
export function buildPlist(dict: PlistDict): string {
  return plist.build(dict);
}

export function stringField(dict: PlistDict, key: string): string | undefined {
  const v = dict[key];
  return typeof v === 'string' ? v : undefined;
}

export function dataField(dict: PlistDict, key: string): Buffer | undefined {
  const v = dict[key];
  return Buffer.isBuffer(v) ? v : undefined;
}
