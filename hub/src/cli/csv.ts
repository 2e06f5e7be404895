import { CsvError, parse } from 'csv-parse/sync';

/**
 * CSV as spreadsheets export it (RFC 4180): comma separated, fields optionally quoted with `"`, a
 * quote inside a quoted field doubled, records ended by CRLF, LF or CR (mixed in one file too), an
 * optional UTF-8 BOM. Parsing is csv-parse's; a quote inside an unquoted field (`5" panel`) and text
 * after a closing quote are kept literally, as spreadsheets read them.
 */

export interface CsvRecord {
  /** The physical line (1-based) the record starts on; a quoted newline makes a record span lines. */
  line: number;
  fields: string[];
}

/** A defect that makes the rest of the file unreadable (an unterminated quote). */
export class CsvSyntaxError extends Error {
  override name = 'CsvSyntaxError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

/** Line breaks in a record's raw text; csv-parse leaves one character of a CRLF record end in it. */
const lineBreaks = (raw: string) => raw.match(/\r\n|\r|\n/g)?.length ?? 0;

export function parseCsv(text: string): CsvRecord[] {
  // csv-parse counts a CRLF inside a quoted field as two lines: lines are counted here, from each record's raw text.
  let linesRead = 0;
  let parsed: unknown;
  try {
    parsed = parse(text, {
      bom: true,
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_quotes: true,
      relax_column_count: true,
      raw: true,
      on_record: (record, { raw }) => {
        linesRead += lineBreaks(raw ?? '');
        return record;
      },
    });
  } catch (e) {
    if (e instanceof CsvError && e.code === 'CSV_QUOTE_NOT_CLOSED') throw new CsvSyntaxError(linesRead + 1, 'unterminated quoted field');
    throw e;
  }
  // With `raw`, each record comes as { record, raw }.
  let line = 1;
  return (parsed as { record: string[]; raw: string }[]).map(({ record, raw }) => {
    const r = { line, fields: record };
    line += lineBreaks(raw);
    return r;
  });
}

/** True for a record with nothing in it (an empty line, or `,,,` as spreadsheets export blank rows). */
export function isBlank(record: CsvRecord): boolean {
  return record.fields.every((f) => f.trim() === '');
}

export function formatCsvField(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

export function formatCsvRow(fields: readonly string[]): string {
  return fields.map(formatCsvField).join(',') + '\n';
}
