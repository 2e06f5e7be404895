/**
 * A strict reader of XML property lists for what devices send (check-ins and command results):
 * one pass over the text, no DOM. Why not a library: the `plist` package parses through a full
 * XML DOM (@xmldom/xmldom) and was the largest single cost of a check-in on the hub's thread, and
 * fast-xml-parser (ordered mode, which a dict's key/value pairs need, plus its validator) still
 * costs over half of that; docs/BENCHMARKS.md ("Apple MDM: the command loop") has the figures.
 *
 * Accepted: an optional XML declaration, comments, a DOCTYPE without an internal subset, one
 * `<plist>` element holding one value — dict, array, key/string, integer, real, date, data, true,
 * false — with character references, the five predefined entities and CDATA in text. Anything else
 * (an entity not predefined, an unknown element, stray text, a mismatched or missing end tag,
 * nesting deeper than 64, more than one root value) throws PlistSyntaxError. The values are those
 * the `plist` package returns: numbers, Date, Buffer for data, plain objects for dicts.
 */
export type PlistValue = string | number | boolean | Date | Buffer | PlistValue[] | { [key: string]: PlistValue };

export class PlistSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlistSyntaxError';
  }
}

const maxDepth = 64;
const predefined: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const integerText = /^[+-]?\d+$/;
const realText = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const base64Text = /^[A-Za-z0-9+/]*={0,2}$/;
const isoDate = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export function parseXmlPlist(text: string): PlistValue {
  return new Reader(text).document();
}

class Reader {
  private pos = 0;

  constructor(private readonly s: string) {}

  document(): PlistValue {
    if (this.s.charCodeAt(0) === 0xfeff) this.pos = 1;
    if (this.s.startsWith('<?xml', this.pos)) this.skipPast('?>', 'XML declaration');
    this.misc(true);
    if (!this.s.startsWith('<plist', this.pos) || !/[\s>]/.test(this.s[this.pos + 6] ?? '')) this.fail('no <plist> root element');
    const close = this.s.indexOf('>', this.pos);
    if (close < 0 || this.s[close - 1] === '/') this.fail('an empty <plist>');
    this.pos = close + 1;
    const value = this.value(0);
    this.misc(false);
    this.endTag('plist');
    this.misc(false);
    if (this.pos !== this.s.length) this.fail('content after </plist>');
    return value;
  }

  private fail(why: string): never {
    throw new PlistSyntaxError(`${why} (at ${this.pos})`);
  }

  private skipPast(end: string, what: string): void {
    const at = this.s.indexOf(end, this.pos);
    if (at < 0) this.fail(`unterminated ${what}`);
    this.pos = at + end.length;
  }

  /** Whitespace and comments; in the prolog also a DOCTYPE without an internal subset. */
  private misc(prolog: boolean): void {
    for (;;) {
      const c = this.s.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else if (this.s.startsWith('<!--', this.pos)) this.skipPast('-->', 'comment');
      else if (prolog && this.s.startsWith('<!DOCTYPE', this.pos)) {
        const close = this.s.indexOf('>', this.pos);
        if (close < 0) this.fail('unterminated DOCTYPE');
        if (this.s.slice(this.pos, close).includes('[')) this.fail('a DOCTYPE internal subset is not allowed');
        this.pos = close + 1;
      } else return;
    }
  }

  /** `<name>` or `<name/>` at pos; returns the name and whether the element is empty. */
  private startTag(): { name: string; empty: boolean } {
    if (this.s.charCodeAt(this.pos) !== 0x3c) this.fail('expected an element');
    const close = this.s.indexOf('>', this.pos);
    if (close < 0) this.fail('unterminated tag');
    let inner = this.s.slice(this.pos + 1, close);
    const empty = inner.endsWith('/');
    if (empty) inner = inner.slice(0, -1);
    const name = inner.trimEnd();
    if (!/^[a-z]+$/.test(name)) this.fail(`unexpected tag <${name.slice(0, 32)}>`);
    this.pos = close + 1;
    return { name, empty };
  }

  private endTag(name: string): void {
    if (!this.s.startsWith(`</${name}`, this.pos)) this.fail(`expected </${name}>`);
    let at = this.pos + name.length + 2;
    while (/\s/.test(this.s[at] ?? '')) at++;
    if (this.s[at] !== '>') this.fail(`expected </${name}>`);
    this.pos = at + 1;
  }

  /** Character data up to the element's end tag: references resolved, CDATA kept, comments dropped. */
  private text(name: string): string {
    let out = '';
    for (;;) {
      const lt = this.s.indexOf('<', this.pos);
      if (lt < 0) this.fail(`unterminated <${name}>`);
      out += this.decode(this.s.slice(this.pos, lt));
      this.pos = lt;
      if (this.s.startsWith('<![CDATA[', lt)) {
        const end = this.s.indexOf(']]>', lt + 9);
        if (end < 0) this.fail('unterminated CDATA');
        out += this.s.slice(lt + 9, end);
        this.pos = end + 3;
      } else if (this.s.startsWith('<!--', lt)) this.skipPast('-->', 'comment');
      else {
        this.endTag(name);
        return out;
      }
    }
  }

  private decode(raw: string): string {
    if (raw.includes(']]>')) this.fail("']]>' in text");
    if (raw.indexOf('&') < 0) return raw;
    return raw.replace(/&([^;&\s]{0,10});?/g, (whole, ref: string) => {
      if (!whole.endsWith(';')) this.fail("a bare '&' in text");
      const named = predefined[ref];
      if (named !== undefined) return named;
      const m = /^#(x[0-9A-Fa-f]{1,6}|[0-9]{1,7})$/.exec(ref);
      if (!m) this.fail(`the entity &${ref}; is not defined`);
      const code = m[1]!.startsWith('x') ? parseInt(m[1]!.slice(1), 16) : parseInt(m[1]!, 10);
      if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) this.fail('a character reference out of range');
      return String.fromCodePoint(code);
    });
  }

  private value(depth: number): PlistValue {
    if (depth > maxDepth) this.fail(`nested deeper than ${maxDepth}`);
    this.misc(false);
    const { name, empty } = this.startTag();
    switch (name) {
      case 'dict':
        return empty ? {} : this.dict(depth);
      case 'array':
        return empty ? [] : this.array(depth);
      case 'string':
        return empty ? '' : this.text(name);
      case 'true':
      case 'false':
        if (!empty) this.endTag(name);
        return name === 'true';
      case 'integer': {
        const t = empty ? '' : this.text(name).trim();
        if (!integerText.test(t)) this.fail('an <integer> that is not an integer');
        return parseInt(t, 10);
      }
      case 'real': {
        const t = empty ? '' : this.text(name).trim();
        if (!realText.test(t)) this.fail('a <real> that is not a number');
        return parseFloat(t);
      }
      case 'date': {
        const t = empty ? '' : this.text(name).trim();
        if (!isoDate.test(t) || Number.isNaN(Date.parse(t))) this.fail('a <date> that is not an ISO 8601 UTC time');
        return new Date(t);
      }
      case 'data': {
        const t = empty ? '' : this.text(name).replace(/\s+/g, '');
        if (!base64Text.test(t)) this.fail('<data> that is not base64');
        return Buffer.from(t, 'base64');
      }
      default:
        return this.fail(`unexpected element <${name}>`);
    }
  }

  private dict(depth: number): Record<string, PlistValue> {
    const out: Record<string, PlistValue> = {};
    for (;;) {
      this.misc(false);
      if (this.s.startsWith('</', this.pos)) {
        this.endTag('dict');
        return out;
      }
      const { name, empty } = this.startTag();
      if (name !== 'key') this.fail(`a <${name}> where a dict needs a <key>`);
      const key = empty ? '' : this.text('key');
      const v = this.value(depth + 1);
      // A key named __proto__ is an ordinary own property, never the object's prototype.
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    }
  }

  private array(depth: number): PlistValue[] {
    const out: PlistValue[] = [];
    for (;;) {
      this.misc(false);
      if (this.s.startsWith('</', this.pos)) {
        this.endTag('array');
        return out;
      }
      out.push(this.value(depth + 1));
    }
  }
}
