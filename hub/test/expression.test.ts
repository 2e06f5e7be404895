import { EnosError, codes } from '@edgehub/shared';
import { describe, expect, it } from 'vitest';
import { parseExpression, type FieldMap } from '../src/api/expression.js';
import { compileFilter, type Doc } from '../src/store/filter.js';

/**
 * The search `expression` of the device and product search endpoints (docs/ENOS-PROTOCOL.md §7.1):
 * what a query selects is checked by running the parsed filter through the store's own matcher.
 */
const fields: FieldMap = {
  path: (field) => {
    if (field === 'productKey' || field === 'deviceName' || field === 'status' || field === 'rating') return field;
    if (field.startsWith('deviceTags.')) return field;
    return undefined;
  },
  value: (field, v) => (field === 'status' && v === 'disable' ? 'disabled' : v),
};

const devices: Doc[] = [
  { id: 'a', productKey: 'pk1', deviceName: 'Inverter 1', status: 'online', rating: 5, deviceTags: { site: 'north' } },
  { id: 'b', productKey: 'pk1', deviceName: 'Inverter 2', status: 'offline', rating: 3 },
  { id: 'c', productKey: 'pk2', deviceName: 'Meter', status: 'disabled', rating: null, deviceTags: { site: 'south' } },
  { id: 'd', productKey: 'pk2', deviceName: "O'Brien's meter", status: 'inactive', rating: 10 },
];

function select(expression: string): string[] {
  const match = compileFilter(parseExpression(expression, fields));
  return devices.filter(match).map((d) => d.id as string);
}

function refusal(expression: string): EnosError {
  try {
    parseExpression(expression, fields);
  } catch (e) {
    if (e instanceof EnosError) return e;
    throw e;
  }
  throw new Error(`expression was accepted: ${expression}`);
}

describe('search expression', () => {
  it('an absent or blank expression selects everything', () => {
    expect(parseExpression(undefined, fields)).toEqual({});
    expect(select('   ')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('compares with =, !=, <>, <, <=, >, >=', () => {
    expect(select("productKey = 'pk1'")).toEqual(['a', 'b']);
    expect(select("productKey != 'pk1'")).toEqual(['c', 'd']);
    expect(select("productKey <> 'pk2'")).toEqual(['a', 'b']);
    expect(select('rating > 3')).toEqual(['a', 'd']);
    expect(select('rating >= 3')).toEqual(['a', 'b', 'd']);
    expect(select('rating < 5')).toEqual(['b']);
    expect(select('rating <= 5')).toEqual(['a', 'b']);
    expect(select('rating = null')).toEqual(['c']);
  });

  it('and binds tighter than or; parentheses group', () => {
    expect(select("productKey = 'pk2' or productKey = 'pk1' and status = 'online'")).toEqual(['a', 'c', 'd']);
    expect(select("(productKey = 'pk2' or productKey = 'pk1') and status = 'online'")).toEqual(['a']);
    expect(select("productKey = 'pk1' AND (status = 'online' OR status in ('offline', 'inactive'))")).toEqual(['a', 'b']);
  });

  it('in, not in, exists, not exists and prefix like', () => {
    expect(select("status in ('offline', 'inactive')")).toEqual(['b', 'd']);
    expect(select("status not in ('offline', 'inactive')")).toEqual(['a', 'c']);
    expect(select('deviceTags.site exists')).toEqual(['a', 'c']);
    expect(select('deviceTags.site not exists')).toEqual(['b', 'd']);
    expect(select("deviceName like 'Inverter%'")).toEqual(['a', 'b']);
    expect(select("deviceTags.site exists and deviceName like 'Inv%'")).toEqual(['a']);
  });

  it('a doubled quote inside a string is one quote; double quotes delimit strings too', () => {
    expect(select("deviceName = 'O''Brien''s meter'")).toEqual(['d']);
    expect(select('productKey = "pk2"')).toEqual(['c', 'd']);
  });

  it('applies the field map value rewrite (status disable → disabled)', () => {
    expect(select("status = 'disable'")).toEqual(['c']);
  });

  it.each([
    ["productKey = 'pk1", 'unterminated string'],
    ['secret = 1', 'field secret cannot be searched'],
    ["productKey = 'pk1' extra", "unexpected 'extra'"],
    ["(productKey = 'pk1'", "expected ')'"],
    ['productKey =', 'unexpected end'],
    ["productKey ! 'x'", "unexpected '!'"],
    ["productKey ~ 'x'", "unexpected '~'"],
    ["deviceName like 'In%ver'", "like supports a prefix pattern 'abc%' only"],
    ['deviceName like 5', 'like needs a string'],
    ['status not like 5', "expected 'exists' after 'not'"],
    ['rating > true', 'comparison needs a number or string'],
    ['rating = (', 'expected a value'],
    ["= 'x'", 'expected a field name'],
    ['rating in 1', "expected '('"],
  ])('refuses %s with 99400 (%s)', (expression, message) => {
    const e = refusal(expression);
    expect(e.code).toBe(codes.invalidArgument);
    expect(e.code).toBe(99400);
    expect(e.message).toContain('Invalid Argument expression');
    expect(e.message).toContain(message);
  });

  it('refuses expressions beyond its limits (length, nesting, in-list size) with 99400', () => {
    expect(refusal(`productKey = '${'x'.repeat(4000)}'`).code).toBe(codes.invalidArgument);
    expect(refusal(`${'('.repeat(20)}productKey = 'pk1'${')'.repeat(20)}`).message).toContain('nested too deeply');
    const list = Array.from({ length: 501 }, (_, i) => `'v${i}'`).join(', ');
    expect(refusal(`status in (${list})`).message).toContain('in-list longer than 500');
    const fullList = [...Array.from({ length: 499 }, (_, i) => `'v${i}'`), "'online'"].join(', ');
    expect(select(`status in (${fullList})`)).toEqual(['a']);
  });
});
