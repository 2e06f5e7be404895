import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import plist from 'plist';
import { describe, expect, it } from 'vitest';
import { parseXmlPlist, PlistSyntaxError } from '../src/device-types/ios/plist-xml.js';

const run = promisify(execFile);

// What Python's plistlib writes for a value of every plist type (the reference writer of the interop tests).
const pythonWrite = `
import plistlib, sys, datetime
value = {
  'MessageType': 'Authenticate', 'UDID': '663b07bb783e9ade1dae4fbb92ea12afc0ce5b69',
  'Text': 'Lost <device> & "call" IT \\u00e9\\u4e2d\\U0001F600', 'Empty': '',
  'Int': 42, 'Neg': -7, 'Big': 2**53, 'Real': 2.5, 'Yes': True, 'No': False,
  'Token': bytes(range(32)), 'NoData': b'', 'When': datetime.datetime(2024, 5, 6, 7, 8, 9),
  'List': [1, 'two', {'Three': [True]}], 'EmptyDict': {}, 'EmptyList': [],
}
sys.stdout.buffer.write(plistlib.dumps(value, fmt=plistlib.FMT_XML))
`;

describe('the strict XML plist reader (device bodies)', () => {
  it("reads what Python's plistlib writes, every type, as the plist package does", async () => {
    const { stdout } = await run('python3', ['-c', pythonWrite]);
    const ours = parseXmlPlist(stdout) as Record<string, unknown>;
    expect(ours).toEqual(plist.parse(stdout));
    expect(ours).toMatchObject({ Text: 'Lost <device> & "call" IT é中😀', Int: 42, Big: 2 ** 53, Real: 2.5, Yes: true, No: false });
    expect(ours['Token']).toEqual(Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
    expect(ours['When']).toEqual(new Date('2024-05-06T07:08:09Z'));
  });

  it("reads Apple's documented check-in shape (comments, DOCTYPE, whitespace, CDATA, references)", () => {
    const text = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- a comment -->
<plist version="1.0">
<dict>
\t<key>MessageType</key>
\t<string>TokenUpdate</string>
\t<key>PushMagic</key><string><![CDATA[a<b]]>&#x41;&#66;&apos;</string>
\t<key>Token</key>
\t<data>
\tR+juwGLC9ynsFwPBs+GPGXHYXwC+dkRd
\tNAgLqnAbX1E=
\t</data>
\t<key>Awaiting</key><false/>
</dict>
</plist>
`;
    expect(parseXmlPlist(text)).toEqual({
      MessageType: 'TokenUpdate',
      PushMagic: "a<bAB'",
      Token: Buffer.from('R+juwGLC9ynsFwPBs+GPGXHYXwC+dkRdNAgLqnAbX1E=', 'base64'),
      Awaiting: false,
    });
  });

  it('a key named __proto__ is an ordinary key, never the prototype', () => {
    const v = parseXmlPlist('<plist><dict><key>__proto__</key><dict><key>polluted</key><true/></dict></dict></plist>') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
    expect((v as { polluted?: unknown }).polluted).toBeUndefined();
  });

  const refused: [string, string][] = [
    ['an unterminated document', '<plist><dict><key>Status</key>'],
    ['a mismatched end tag', '<plist><dict><key>A</key><string>x</integer></dict></plist>'],
    ['an undefined entity', '<plist><dict><key>A</key><string>&a;</string></dict></plist>'],
    ['a bare ampersand', '<plist><dict><key>A</key><string>a & b</string></dict></plist>'],
    ['an internal DOCTYPE subset', '<!DOCTYPE plist [<!ENTITY a "x">]><plist><dict/></plist>'],
    ['stray text in a dict', '<plist><dict>oops<key>A</key><true/></dict></plist>'],
    ['a key without a value', '<plist><dict><key>A</key></dict></plist>'],
    ['a value without a key', '<plist><dict><string>x</string></dict></plist>'],
    ['two root values', '<plist><dict/><dict/></plist>'],
    ['content after </plist>', '<plist><dict/></plist><plist/>'],
    ['no plist root', '<dict/>'],
    ['an empty plist', '<plist/>'],
    ['an unknown element', '<plist><dict><key>A</key><foo/></dict></plist>'],
    ['a markup element inside text', '<plist><dict><key>A</key><string>a<b/>c</string></dict></plist>'],
    ['an integer that is not one', '<plist><dict><key>A</key><integer>12a</integer></dict></plist>'],
    ['a real that is not one', '<plist><dict><key>A</key><real>1..2</real></dict></plist>'],
    ['data that is not base64', '<plist><dict><key>A</key><data>***</data></dict></plist>'],
    ['a date that is not ISO 8601', '<plist><dict><key>A</key><date>yesterday</date></dict></plist>'],
    ['true with content', '<plist><dict><key>A</key><true>yes</true></dict></plist>'],
    ['a character reference to NUL', '<plist><dict><key>A</key><string>&#0;</string></dict></plist>'],
    ['nesting deeper than 64', `<plist>${'<array>'.repeat(100)}${'</array>'.repeat(100)}</plist>`],
    ['JSON', '{"Status":"Idle"}'],
  ];
  it.each(refused)('refuses %s', (_name, text) => {
    expect(() => parseXmlPlist(text)).toThrow(PlistSyntaxError);
  });
});
