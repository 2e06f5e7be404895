/**
 * RFC 4180 CSV, the dialect spreadsheets export: comma separated, fields optionally quoted with
 * `"`, a quote inside a quoted field doubled, records ended by CRLF, LF or CR, an optional UTF-8
 * BOM. A quote inside an unquoted field is kept literally (`5" panel`), as spreadsheets read it.
 */

export interface CsvRecord {
  /** The physical line (1-based) the record starts on; a quoted newline makes a record span lines. */
  line: number;
  fields: string[];
  /** Set when the record is malformed but the rest of the file can still be read. */
  error?: string;
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

const isEnd = (c: string | undefined) => c === ',' || c === '\n' || c === '\r' || c === undefined;

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;

  while (i < text.length) {
    const record: CsvRecord = { line, fields: [] };
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= text.length) throw new CsvSyntaxError(opened, 'unterminated quoted field');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
          value += c;
          i++;
        }
        if (!isEnd(text[i])) {
          record.error ??= `field ${record.fields.length + 1}: text after the closing quote`;
          while (!isEnd(text[i])) value += text[i++];
        }
      } else {
        const start = i;
        while (!isEnd(text[i])) i++;
        value = text.slice(start, i);
      }
      record.fields.push(value);
      if (text[i] !== ',') break;
      i++;
    }
    // The record ends at CRLF, LF or CR (or at the end of the text).
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    records.push(record);
  }
  return records;
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
