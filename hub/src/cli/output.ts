/**
 * What the commands print. Results go to stdout, as aligned plain text or, with --json, as one
 * JSON document; notices and progress go to stderr so that stdout stays pipeable.
 */
export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: NodeJS.WritableStream = process.stdout,
    private readonly stderr: NodeJS.WritableStream = process.stderr,
  ) {}

  /** A result: `data` as JSON with --json, otherwise the human text. */
  result(data: unknown, human: () => string): void {
    this.stdout.write(this.json ? JSON.stringify(data, null, 2) + '\n' : ensureNewline(human()));
  }

  /** A note for the person at the terminal (never part of the result). */
  notice(text: string): void {
    this.stderr.write(ensureNewline(text));
  }
}

function ensureNewline(s: string): string {
  return s === '' || s.endsWith('\n') ? s : s + '\n';
}

/** A cell as one line of text: a device name may hold a newline or a tab, which would break the columns. */
export function cell(v: unknown): string {
  if (v === undefined || v === null || v === '') return '-';
  const s =
    typeof v === 'string'
      ? v
      : typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint'
        ? v.toString()
        : (JSON.stringify(v) ?? '-');
  return s.replace(/[\u0000-\u001f\u007f]/g, ' ');
}

/** Plain aligned columns: a header line, then one line per row, two spaces between columns. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((r) => columns.map((c) => cell(c.value(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => width(line[i] ?? ''))));
  return cells
    .map(
      (line) =>
        line
          .map((s, i) => (i === line.length - 1 ? s : pad(s, widths[i] ?? 0)))
          .join('  ')
          .trimEnd() + '\n',
    )
    .join('');
}

/** `key: value` lines with the values aligned. */
export function keyValues(pairs: readonly (readonly [string, unknown])[]): string {
  const w = Math.max(0, ...pairs.map(([k]) => width(k)));
  return pairs.map(([k, v]) => `${pad(k + ':', w + 1)} ${cell(v)}\n`).join('');
}

/** Epoch milliseconds as an ISO timestamp (UTC), or '-'. */
export function time(ms: unknown): string {
  return typeof ms === 'number' ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

export function tags(t: Record<string, string> | undefined | null): string {
  const entries = Object.entries(t ?? {});
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Code points, not UTF-16 units, so that an emoji or a CJK name does not over-pad (wide glyphs still do). */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}
