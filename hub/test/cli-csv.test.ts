import { describe, expect, it } from 'vitest';
import type { ApiResponse } from '../src/client/api-client.js';
import { CsvSyntaxError, formatCsvRow, isBlank, parseCsv } from '../src/cli/csv.js';
import { UsageError } from '../src/cli/errors.js';
import { createInBatches, type BatchItem, type Outcome } from '../src/cli/import/batches.js';
import { prepareImport, readHeader, toDevice } from '../src/cli/import/rows.js';
import type { NewDevice } from '../src/registry/devices.js';

const fields = (text: string) => parseCsv(text).map((r) => r.fields);

describe('parseCsv', () => {
  it('splits records and fields', () => {
    expect(fields('a,b,c\n1,2,3\n')).toEqual([
      ['a', 'b', 'c'],
      ['1', '2', '3'],
    ]);
  });

  it('reads the last record without a trailing newline, and no phantom record after one', () => {
    expect(fields('a,b\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields('a\n')).toEqual([['a']]);
    expect(fields('')).toEqual([]);
  });

  it('keeps commas, doubled quotes and newlines inside quoted fields', () => {
    expect(fields('"Inverter, north","say ""hi""","two\nlines"\n')).toEqual([['Inverter, north', 'say "hi"', 'two\nlines']]);
    expect(fields('""\n')).toEqual([['']]);
  });

  it('accepts CRLF, LF and lone CR record ends', () => {
    expect(fields('a,b\r\n1,2\r\n')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ]);
    expect(fields('a\r1\r2')).toEqual([['a'], ['1'], ['2']]);
    expect(fields('a,"x\r\ny"\r\n')).toEqual([['a', 'x\r\ny']]);
  });

  it('drops a UTF-8 byte order mark', () => {
    expect(fields('\uFEFFdeviceName\nx\n')).toEqual([['deviceName'], ['x']]);
  });

  it('keeps empty fields, including a trailing one', () => {
    expect(fields('a,,c,\n')).toEqual([['a', '', 'c', '']]);
    expect(fields(',')).toEqual([['', '']]);
  });

  it('numbers each record by the physical line it starts on', () => {
    const records = parseCsv('h\r\n"one\r\ntwo"\r\nthree\n\n"a\nb\nc"\nlast');
    expect(records.map((r) => r.line)).toEqual([1, 2, 4, 5, 6, 9]);
    expect(isBlank(records[3]!)).toBe(true);
  });

  it('treats a row of empty fields as blank', () => {
    expect(isBlank(parseCsv(' , ,\n')[0]!)).toBe(true);
    expect(isBlank(parseCsv(' ,x,\n')[0]!)).toBe(false);
  });

  it('keeps a quote inside an unquoted field literally', () => {
    expect(fields('5" panel,b\n')).toEqual([['5" panel', 'b']]);
  });

  it('keeps text after a closing quote literally, as spreadsheets read it', () => {
    const records = parseCsv('a,b\n"x"y,z\nok,1\n');
    expect(records[1]).toEqual({ line: 2, fields: ['"x"y', 'z'] });
    expect(records[2]).toEqual({ line: 3, fields: ['ok', '1'] });
  });

  it('refuses an unterminated quote, naming the line it opened on', () => {
    expect(() => parseCsv('a,b\n1,2\n3,"open\nmore\n')).toThrow(CsvSyntaxError);
    try {
      parseCsv('a,b\n1,2\n3,"open\nmore\n');
    } catch (e) {
      expect((e as CsvSyntaxError).line).toBe(3);
    }
  });

  it('round-trips what formatCsvRow writes', () => {
    const tricky = ['plain', 'with, comma', 'with "quotes"', 'multi\nline', ' padded ', '', 'crlf\r\nx'];
    expect(formatCsvRow(tricky)).toBe('plain,"with, comma","with ""quotes""","multi\nline"," padded ",,"crlf\r\nx"\n');
    expect(fields(formatCsvRow(tricky) + formatCsvRow(['a']))).toEqual([tricky, ['a']]);
  });
});

describe('device import rows', () => {
  const csv = (text: string, defaults = {}) => prepareImport(parseCsv(text), defaults);

  it('reads the known columns case-insensitively and tag:<key> columns', () => {
    expect(readHeader(['ProductKey', ' devicename ', 'tag:site', 'TAG:line-2'])).toEqual([
      { kind: 'field', field: 'productKey' },
      { kind: 'field', field: 'deviceName' },
      { kind: 'tag', key: 'site' },
      { kind: 'tag', key: 'line-2' },
    ]);
  });

  it.each([
    [['deviceName', 'colour'], /unknown column 'colour'/],
    [['productKey', 'deviceKey'], /no deviceName column/],
    [['deviceName'], /no productKey column/],
    [['productKey', 'deviceName', 'devicename'], /appears twice/],
    [['productKey', 'deviceName', 'tag:bad key'], /tag key/],
  ])('refuses the header %j', (header, msg) => {
    expect(() => readHeader(header)).toThrow(UsageError);
    expect(() => readHeader(header)).toThrow(msg);
  });

  it('fills the product and timezone defaults, drops empty tags, trims values', () => {
    const { rows, failures, total } = csv(
      'deviceKey,deviceName,timezone,tag:site,tag:line,deviceDesc\nk1, Inverter 1 ,,sh,, desc \nk2,Inverter 2,Asia/Shanghai,,,\n',
      { productKey: 'pk1' },
    );
    expect(failures).toEqual([]);
    expect(total).toBe(2);
    expect(rows).toEqual([
      {
        line: 2,
        device: {
          productKey: 'pk1',
          deviceKey: 'k1',
          deviceName: { defaultValue: 'Inverter 1' },
          timezone: '+08:00',
          deviceTags: { site: 'sh' },
          deviceDesc: 'desc',
        },
      },
      { line: 3, device: { productKey: 'pk1', deviceKey: 'k2', deviceName: { defaultValue: 'Inverter 2' }, timezone: 'Asia/Shanghai' } },
    ]);
  });

  it('lets a row name its own product over --product', () => {
    const { rows } = csv('productKey,deviceName\nother,a\n,b\n', { productKey: 'pk1' });
    expect(rows.map((r) => r.device.productKey)).toEqual(['other', 'pk1']);
  });

  it('reports bad rows with their line and keeps the good ones', () => {
    const { rows, failures, total } = csv(
      [
        'productKey,deviceKey,deviceName,timezone',
        'pk,a,ok,',
        'pk,b,,', // no name
        ',c,no product,',
        'pk,d d,bad key,',
        'pk,e,bad tz,+25:00',
        'pk,a,again,', // duplicate of line 2
        'pk,f,too,few,fields,',
        ',,,', // blank: skipped, not counted
        'pk,g,"multi',
        'line",',
        'pk,h,after multi-line,',
      ].join('\n'),
    );
    expect(total).toBe(9);
    expect(rows.map((r) => [r.line, r.device.deviceKey])).toEqual([
      [2, 'a'],
      [10, 'g'],
      [12, 'h'],
    ]);
    expect(failures).toEqual([
      { line: 3, msg: 'deviceName is empty' },
      { line: 4, msg: expect.stringMatching(/productKey is empty/) },
      { line: 5, msg: expect.stringMatching(/deviceKey 'd d' is not a key/) },
      { line: 6, msg: expect.stringMatching(/timezone '\+25:00'/) },
      { line: 7, msg: 'deviceKey a repeats line 2' },
      { line: 8, msg: '6 fields, but the header has 4' },
    ]);
  });

  it('refuses a device name longer than the hub accepts', () => {
    expect(toDevice({ line: 2, fields: ['pk', 'x'.repeat(257)] }, readHeader(['productKey', 'deviceName']))).toMatch(/longer than 256/);
  });

  it('refuses a file without rows', () => {
    expect(() => csv('')).toThrow(/empty/);
  });
});

describe('createInBatches', () => {
  const row = (i: number) => ({
    line: i + 2,
    device: { productKey: 'pk', deviceKey: `k${i}`, deviceName: { defaultValue: `d${i}` }, timezone: '+08:00' } as NewDevice,
  });
  const envelope = (code: number, data: BatchItem[] | null, msg = code === 0 ? 'OK' : 'refused'): ApiResponse<BatchItem[] | null> => ({
    status: code === 0 ? 200 : 400,
    code,
    msg,
    data,
  });
  const created = (d: NewDevice): BatchItem => ({
    code: 0,
    msg: 'OK',
    data: { assetId: `a-${d.deviceKey}`, productKey: d.productKey, deviceKey: d.deviceKey!, deviceSecret: 's' },
  });

  it('sends batches of the given size in order and reports each entry', async () => {
    const sizes: number[] = [];
    const outcomes: Outcome[] = [];
    const rows = Array.from({ length: 7 }, (_, i) => row(i));
    await createInBatches(
      rows,
      3,
      async (list) => {
        sizes.push(list.length);
        return envelope(
          0,
          list.map((d) => (d.deviceKey === 'k4' ? { code: 11702, msg: 'exists', data: null } : created(d))),
        );
      },
      (o) => void outcomes.push(...o),
    );
    expect(sizes).toEqual([3, 3, 1]);
    expect(outcomes.map((o) => [o.row.line, o.ok])).toEqual(rows.map((r) => [r.line, r.line !== 6]));
    expect(outcomes[4]).toMatchObject({ ok: false, code: 11702, msg: 'exists' });
  });

  it('halves a batch the hub refuses as invalid until the bad entry stands alone', async () => {
    const outcomes: Outcome[] = [];
    let calls = 0;
    await createInBatches(
      Array.from({ length: 8 }, (_, i) => row(i)),
      8,
      async (list) => {
        calls++;
        return list.some((d) => d.deviceKey === 'k5')
          ? envelope(99400, null, 'Invalid Argument body/deviceList/0')
          : envelope(0, list.map(created));
      },
      (o) => void outcomes.push(...o),
    );
    expect(outcomes.map((o) => o.row.line)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(outcomes.filter((o) => !o.ok)).toEqual([expect.objectContaining({ row: expect.objectContaining({ line: 7 }), code: 99400 })]);
    expect(calls).toBeLessThanOrEqual(1 + 2 * 3);
  });

  it('stops at a refusal that is not about the content', async () => {
    const outcomes: Outcome[] = [];
    let calls = 0;
    const send = async (list: NewDevice[]) => (++calls === 1 ? envelope(0, list.map(created)) : envelope(99403, null, 'Denied resource'));
    await expect(
      createInBatches(
        Array.from({ length: 4 }, (_, i) => row(i)),
        2,
        send,
        (o) => void outcomes.push(...o),
      ),
    ).rejects.toMatchObject({ code: 99403 });
    expect(outcomes).toHaveLength(2);
    expect(calls).toBe(2);
  });
});
