import { EnosError, codes } from '@edgehub/shared';
import type { Filter, Scalar } from '../store/port.js';

/**
 * The EnOS search `expression` (docs/ENOS-PROTOCOL.md §7.1): a small SQL-like filter, e.g.
 *   productKey = 'pk1' and (status = 'online' or status in ('offline', 'inactive'))
 *   deviceTags.site exists and deviceName like 'Inverter%'
 * translated to a store Filter. `like` supports a trailing `%` (prefix match) only.
 */
export interface FieldMap {
  /** Maps a field of the expression to a stored path, or returns undefined if it is not searchable. */
  path(field: string): string | undefined;
  /** Optionally rewrites a value for a field (e.g. status 'disable' → 'disabled'). */
  value?(field: string, v: Scalar): Scalar;
}

const MAX_LENGTH = 4000;
const MAX_DEPTH = 16;
const MAX_IN = 500;

type Token = { kind: 'word' | 'string' | 'number' | 'punct'; text: string; pos: number };

export function parseExpression(src: string | undefined, fields: FieldMap): Filter {
  if (src === undefined || src.trim() === '') return {};
  if (src.length > MAX_LENGTH) throw bad(`expression is longer than ${MAX_LENGTH} characters`);
  const p = new Parser(tokenize(src), fields);
  const f = p.expr(0);
  p.end();
  return f;
}

function bad(msg: string): EnosError {
  return new EnosError(codes.invalidArgument, `Invalid Argument expression: ${msg}`);
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= src.length) throw bad(`unterminated string at ${i}`);
        if (src[j] === c) {
          if (src[j + 1] === c) {
            text += c; // doubled quote escapes itself, as in SQL
            j += 2;
            continue;
          }
          break;
        }
        text += src[j];
        j++;
      }
      out.push({ kind: 'string', text, pos: i });
      i = j + 1;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ kind: 'punct', text: c, pos: i++ });
    } else if (c === '=' || c === '!' || c === '<' || c === '>') {
      const two = src.slice(i, i + 2);
      const op = two === '!=' || two === '<>' || two === '>=' || two === '<=' ? two : c;
      if (op === '!') throw bad(`unexpected '!' at ${i}`);
      out.push({ kind: 'punct', text: op, pos: i });
      i += op.length;
    } else if (/[-0-9]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(src.slice(i));
      if (!m) throw bad(`unexpected '${c}' at ${i}`);
      out.push({ kind: 'number', text: m[0], pos: i });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.-]*/.exec(src.slice(i))!;
      out.push({ kind: 'word', text: m[0], pos: i });
      i += m[0].length;
    } else {
      throw bad(`unexpected '${c}' at ${i}`);
    }
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly fields: FieldMap,
  ) {}

  end(): void {
    const t = this.tokens[this.i];
    if (t) throw bad(`unexpected '${t.text}' at ${t.pos}`);
  }

  expr(depth: number): Filter {
    if (depth > MAX_DEPTH) throw bad('nested too deeply');
    const parts = [this.conj(depth)];
    while (this.keyword('or')) parts.push(this.conj(depth));
    return parts.length === 1 ? parts[0]! : { $or: parts };
  }

  private conj(depth: number): Filter {
    const parts = [this.primary(depth)];
    while (this.keyword('and')) parts.push(this.primary(depth));
    return parts.length === 1 ? parts[0]! : { $and: parts };
  }

  private primary(depth: number): Filter {
    if (this.punct('(')) {
      const f = this.expr(depth + 1);
      this.expect(')');
      return f;
    }
    const t = this.next();
    if (t.kind !== 'word') throw bad(`expected a field name at ${t.pos}`);
    const path = this.fields.path(t.text);
    if (!path) throw bad(`field ${t.text} cannot be searched`);
    const field = t.text;
    if (this.keyword('exists')) return { [path]: { $exists: true } };
    if (this.keyword('not')) {
      if (this.keyword('exists')) return { [path]: { $exists: false } };
      if (this.keyword('in')) return { $and: this.list(field).map((v) => ({ [path]: { $ne: v } })) };
      throw bad(`expected 'exists' after 'not' at ${this.tokens[this.i]?.pos ?? 'end'}`);
    }
    if (this.keyword('in')) return { [path]: { $in: this.list(field) } };
    if (this.keyword('like')) {
      const v = this.next();
      if (v.kind !== 'string') throw bad(`like needs a string at ${v.pos}`);
      const m = /^([^%_]*)%$/.exec(v.text);
      if (!m) throw bad(`like supports a prefix pattern 'abc%' only`);
      return { [path]: { $prefix: m[1]! } };
    }
    const op = this.next();
    const value = this.value(field);
    switch (op.text) {
      case '=':
        return { [path]: value };
      case '!=':
      case '<>':
        return { [path]: { $ne: value } };
      case '>':
      case '>=':
      case '<':
      case '<=': {
        if (typeof value !== 'number' && typeof value !== 'string') throw bad(`comparison needs a number or string at ${op.pos}`);
        const key = ({ '>': '$gt', '>=': '$gte', '<': '$lt', '<=': '$lte' } as const)[op.text];
        return { [path]: { [key]: value } };
      }
      default:
        throw bad(`unknown operator '${op.text}' at ${op.pos}`);
    }
  }

  private list(field: string): Scalar[] {
    this.expect('(');
    const out = [this.value(field)];
    while (this.punct(',')) {
      out.push(this.value(field));
      if (out.length > MAX_IN) throw bad(`in-list longer than ${MAX_IN}`);
    }
    this.expect(')');
    return out;
  }

  private value(field: string): Scalar {
    const t = this.next();
    let v: Scalar;
    if (t.kind === 'string') v = t.text;
    else if (t.kind === 'number') v = Number(t.text);
    else if (t.kind === 'word' && (t.text === 'true' || t.text === 'false')) v = t.text === 'true';
    else if (t.kind === 'word' && t.text === 'null') v = null;
    else throw bad(`expected a value at ${t.pos}`);
    return this.fields.value ? this.fields.value(field, v) : v;
  }

  private next(): Token {
    const t = this.tokens[this.i++];
    if (!t) throw bad('unexpected end');
    return t;
  }

  private keyword(w: string): boolean {
    const t = this.tokens[this.i];
    if (t?.kind === 'word' && t.text.toLowerCase() === w) {
      this.i++;
      return true;
    }
    return false;
  }

  private punct(p: string): boolean {
    const t = this.tokens[this.i];
    if (t?.kind === 'punct' && t.text === p) {
      this.i++;
      return true;
    }
    return false;
  }

  private expect(p: string): void {
    if (!this.punct(p)) throw bad(`expected '${p}' at ${this.tokens[this.i]?.pos ?? 'end'}`);
  }
}
