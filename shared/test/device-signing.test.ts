import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  alibabaSign,
  alibabaSignMethodAlgo,
  connectSignature,
  enosSign,
  parseClientId,
  parseConnect,
  parseUsername,
  secretKindForSecureMode,
  signMethodAlgo,
  subDeviceSignature,
  subDeviceSignMethodLabel,
  timestampText,
  verifyAlibabaPassword,
  verifyConnectPassword,
  verifySubDeviceSign,
} from '../src/index.js';

// Independent oracle: the digest of a literal string, as the SDKs compute it.
const digest = (algo: string, s: string) => createHash(algo).update(s, 'utf8').digest('hex');

// docs/ENOS-PROTOCOL.md §2.2 test vectors (inputs from DOC-ZH/DOC-EN nonsdk_login.md).
const VECTOR_A = {
  fields: { clientId: '123456', deviceKey: 'tPbZGCdmaE', productKey: 'KV315idW', timestamp: '1548753362502' },
  secret: 'M3yy874uGY8INjEGddTR',
  hex: 'A3C438DDCB6EAA0CF07AD1C36655245CCDD67AA1917E4CC4EFF57BF6F464ABFF',
};
const VECTOR_B = {
  fields: { clientId: '123456', deviceKey: 'test', productKey: '654321', timestamp: '1548753362502' },
  secret: 'abcdefg',
  hex: 'B99032D49C706F7B27B22AB5CD2DD3C56A31E1BCBBC83BA0A2A6BB3272FBB166',
};

describe('signMethodAlgo (§2.2)', () => {
  it.each([
    ['sha256', 'sha256'],
    ['hmacsha256', 'sha256'],
    ['Sha256', 'sha256'], // C SDK mixed case
    ['hmacSha256', 'sha256'],
    [' SHA256 ', 'sha256'],
    ['sha1', 'sha1'],
    ['hmacsha1', 'sha1'],
    ['HmacSHA1', 'sha1'],
    ['md5', 'md5'],
    ['hmacmd5', 'md5'],
    ['HMACMD5', 'md5'],
  ])('%j → %s', (label, algo) => {
    expect(signMethodAlgo(label)).toBe(algo);
  });

  it('treats a missing or empty method as SHA-1, as Java does for historical compatibility', () => {
    expect(signMethodAlgo('')).toBe('sha1');
    expect(signMethodAlgo('  ')).toBe('sha1');
    expect(signMethodAlgo(undefined)).toBe('sha1');
  });

  it('refuses unknown methods', () => {
    expect(signMethodAlgo('sha512')).toBeNull();
    expect(signMethodAlgo('hmac')).toBeNull();
    expect(signMethodAlgo('sha-256')).toBeNull();
  });
});

describe('enosSign', () => {
  it('sorts keys by code unit, concatenates key+value, appends the secret, plain digest', () => {
    const params = { b: '2', B: '3', a: '1', _: '4' };
    // 'B' (66) < '_' (95) < 'a' (97) < 'b' (98)
    expect(enosSign(params, 'S', 'sha256')).toBe(digest('sha256', 'B3_4a1b2S'));
    expect(enosSign(params, 'S', 'md5')).toBe(digest('md5', 'B3_4a1b2S'));
    expect(enosSign(params, 'S', 'sha1')).toBe(digest('sha1', 'B3_4a1b2S'));
  });

  it('is not an HMAC (§0.1)', () => {
    const hmac = createHmac('sha256', 'S').update('a1').digest('hex');
    expect(enosSign({ a: '1' }, 'S', 'sha256')).not.toBe(hmac);
  });
});

describe('CONNECT signature (§2.2)', () => {
  it('reproduces the A3C438DD… vector', () => {
    expect(connectSignature(VECTOR_A.fields, VECTOR_A.secret, 'sha256').toUpperCase()).toBe(VECTOR_A.hex);
  });

  it('reproduces the B99032D4… vector', () => {
    expect(connectSignature(VECTOR_B.fields, VECTOR_B.secret, 'sha256').toUpperCase()).toBe(VECTOR_B.hex);
  });

  it('accepts the uppercase (Node, C) and the lowercase (Java, Python) password', () => {
    expect(verifyConnectPassword(VECTOR_A.fields, VECTOR_A.hex, VECTOR_A.secret, 'sha256')).toBe(true);
    expect(verifyConnectPassword(VECTOR_A.fields, VECTOR_A.hex.toLowerCase(), VECTOR_A.secret, 'sha256')).toBe(true);
  });

  it('refuses a wrong password, a wrong secret, a wrong algorithm and a wrong field', () => {
    const { fields, secret, hex } = VECTOR_A;
    expect(verifyConnectPassword(fields, VECTOR_B.hex, secret, 'sha256')).toBe(false);
    expect(verifyConnectPassword(fields, hex.slice(0, -1), secret, 'sha256')).toBe(false);
    expect(verifyConnectPassword(fields, '', secret, 'sha256')).toBe(false);
    expect(verifyConnectPassword(fields, hex, secret + 'x', 'sha256')).toBe(false);
    expect(verifyConnectPassword(fields, hex, secret, 'sha1')).toBe(false);
    expect(verifyConnectPassword({ ...fields, timestamp: '1548753362503' }, hex, secret, 'sha256')).toBe(false);
    expect(verifyConnectPassword({ ...fields, deviceKey: 'tPbZGCdmaF' }, hex, secret, 'sha256')).toBe(false);
  });

  it('verifies SHA-1 (uppercase, old Java SDK) and MD5 passwords', () => {
    const content = 'clientId123456deviceKeytestproductKey654321timestamp1548753362502abcdefg';
    const sha1 = digest('sha1', content).toUpperCase();
    const md5 = digest('md5', content);
    expect(verifyConnectPassword(VECTOR_B.fields, sha1, 'abcdefg', 'sha1')).toBe(true);
    expect(verifyConnectPassword(VECTOR_B.fields, md5, 'abcdefg', 'md5')).toBe(true);
    expect(verifyConnectPassword(VECTOR_B.fields, md5, 'abcdefg', 'sha1')).toBe(false);
  });
});

describe('parseClientId', () => {
  it('splits the docs example', () => {
    const p = parseClientId('123456|securemode=2,signmethod=sha256,timestamp=1548753362502|');
    expect(p.clientId).toBe('123456');
    expect({ ...p.ext }).toEqual({ securemode: '2', signmethod: 'sha256', timestamp: '1548753362502' });
    expect({ ...p.extraInfo }).toEqual({});
  });

  it('trims the space one doc line puts after a comma, and lowercases keys', () => {
    const p = parseClientId('123456|secureMode=2, signMethod = sha256 ,timestamp=1|');
    expect({ ...p.ext }).toEqual({ securemode: '2', signmethod: 'sha256', timestamp: '1' });
  });

  it('keeps the Java SDK extra-info block in the clientId and parses it (§0.3)', () => {
    const raw = 'dk01{ip=10.0.0.5,version=enos-mqtt-2.3.0,compress=GZIP}|securemode=2,signmethod=hmacsha256,timestamp=1600000000000|';
    const p = parseClientId(raw);
    expect(p.clientId).toBe('dk01{ip=10.0.0.5,version=enos-mqtt-2.3.0,compress=GZIP}');
    expect({ ...p.extraInfo }).toEqual({ ip: '10.0.0.5', version: 'enos-mqtt-2.3.0', compress: 'GZIP' });
    expect(p.ext['signmethod']).toBe('hmacsha256');
  });

  it('takes a bare ClientId as the clientId, with no parameters', () => {
    const p = parseClientId('just-an-id');
    expect(p.clientId).toBe('just-an-id');
    expect(Object.keys(p.ext)).toHaveLength(0);
  });

  it('ignores text after the second bar and malformed pairs', () => {
    const p = parseClientId('c|a=1,novalue,=x,b=2|c=3');
    expect({ ...p.ext }).toEqual({ a: '1', b: '2' });
  });

  it('keeps client-chosen keys such as __proto__ as plain data', () => {
    const p = parseClientId('c|__proto__=x,constructor=y|');
    expect(p.ext['__proto__']).toBe('x');
    expect(p.ext['constructor']).toBe('y');
    expect(Reflect.get(p.ext, 'toString')).toBeUndefined(); // no inherited members: a null-prototype object
  });
});

describe('parseUsername', () => {
  it('splits dk&pk on the first &', () => {
    expect(parseUsername('tPbZGCdmaE&KV315idW')).toEqual({ deviceKey: 'tPbZGCdmaE', productKey: 'KV315idW' });
    expect(parseUsername('a&b&c')).toEqual({ deviceKey: 'a', productKey: 'b&c' });
  });

  it.each(['', 'nodelimiter', '&pk', 'dk&', '&'])('refuses %j', (u) => {
    expect(parseUsername(u)).toBeNull();
  });
});

describe('secretKindForSecureMode', () => {
  it('maps 2 to the device secret and 3, 4 to the product secret', () => {
    expect(secretKindForSecureMode('2')).toBe('deviceSecret');
    expect(secretKindForSecureMode('3')).toBe('productSecret');
    expect(secretKindForSecureMode('4')).toBe('productSecret');
    expect(secretKindForSecureMode(' 3 ')).toBe('productSecret');
    expect(secretKindForSecureMode(2)).toBe('deviceSecret');
  });

  it.each(['', '1', '-2', 'two', undefined])('refuses %j', (m) => {
    expect(secretKindForSecureMode(m)).toBeNull();
  });
});

describe('parseConnect: what real SDKs send', () => {
  it('Node SDK: sha256, uppercase password (§12)', () => {
    const c = parseConnect('tPbZGCdmaE|securemode=2,signmethod=sha256,timestamp=1548753362502|', 'tPbZGCdmaE&KV315idW');
    expect(c).not.toBeNull();
    if (!c || !c.algo) throw new Error('unparsed');
    expect(c.secureMode).toBe('2');
    const content = 'clientIdtPbZGCdmaEdeviceKeytPbZGCdmaEproductKeyKV315idWtimestamp1548753362502secret';
    expect(verifyConnectPassword(c, digest('sha256', content).toUpperCase(), 'secret', c.algo)).toBe(true);
  });

  it('the docs example with the A3C438DD… password', () => {
    const c = parseConnect('123456|securemode=2, signmethod=sha256,timestamp=1548753362502|', 'tPbZGCdmaE&KV315idW');
    if (!c || !c.algo) throw new Error('unparsed');
    expect(verifyConnectPassword(c, VECTOR_A.hex, VECTOR_A.secret, c.algo)).toBe(true);
  });

  it('new Java SDK: the {ip=…} extra info is part of the signed clientId', () => {
    const raw = 'dk01{ip=10.0.0.5,version=enos-mqtt-2.3.0,compress=DEFAULT}|securemode=2,signmethod=hmacsha256,timestamp=1600000000000|';
    const c = parseConnect(raw, 'dk01&pk01');
    if (!c || !c.algo) throw new Error('unparsed');
    expect(c.algo).toBe('sha256');
    const content =
      'clientIddk01{ip=10.0.0.5,version=enos-mqtt-2.3.0,compress=DEFAULT}deviceKeydk01productKeypk01timestamp1600000000000S3cret';
    const password = digest('sha256', content); // Java: lowercase
    expect(verifyConnectPassword(c, password, 'S3cret', c.algo)).toBe(true);
    // Signing the bare deviceKey instead must not pass.
    const bare = digest('sha256', 'clientIddk01deviceKeydk01productKeypk01timestamp1600000000000S3cret');
    expect(verifyConnectPassword(c, bare, 'S3cret', c.algo)).toBe(false);
  });

  it('Python SDK: float timestamp string, hmacsha256 label, lowercase hex (§0.4)', () => {
    const c = parseConnect('dkpy|securemode=2,signmethod=hmacsha256,timestamp=1600000000000.123|', 'dkpy&pkpy');
    if (!c || !c.algo) throw new Error('unparsed');
    expect(c.timestamp).toBe('1600000000000.123');
    const content = 'clientIddkpydeviceKeydkpyproductKeypkpytimestamp1600000000000.123sec';
    expect(verifyConnectPassword(c, digest('sha256', content), 'sec', c.algo)).toBe(true);
  });

  it('C SDK: {pk}.{dk} clientId, fixed 2050 timestamp, Sha256 label (no freshness check)', () => {
    const c = parseConnect('pkc.dkc|securemode=2,signmethod=Sha256,timestamp=2524608000000|', 'dkc&pkc');
    if (!c || !c.algo) throw new Error('unparsed');
    const content = 'clientIdpkc.dkcdeviceKeydkcproductKeypkctimestamp2524608000000sec';
    expect(verifyConnectPassword(c, digest('sha256', content).toUpperCase(), 'sec', c.algo)).toBe(true);
  });

  it('a missing signmethod means SHA-1; an unknown one resolves to null', () => {
    expect(parseConnect('c|securemode=2,timestamp=1|', 'd&p')?.algo).toBe('sha1');
    expect(parseConnect('c|securemode=2,signmethod=sha3,timestamp=1|', 'd&p')?.algo).toBeNull();
  });

  it('refuses a malformed username', () => {
    expect(parseConnect('c|securemode=2|', 'no-ampersand')).toBeNull();
  });
});

describe('sub-device sign (§5.1–§5.3)', () => {
  const fields = { clientId: 'subPK.subDK.1600000000000', deviceKey: 'subDK', productKey: 'subPK', timestamp: '1600000000000' };
  const VECTOR = 'bdae5a908c91a9e152b3a9d3593a7eba1423468465e7aac8ff76639e541d9827';

  it('reproduces the bdae5a90… vector', () => {
    expect(subDeviceSignature(fields, 'subSecret', 'sha256')).toBe(VECTOR);
    expect(verifySubDeviceSign(fields, VECTOR, 'subSecret', 'sha256')).toBe(true);
    expect(verifySubDeviceSign(fields, VECTOR.toUpperCase(), 'subSecret', 'sha256')).toBe(true);
  });

  it('signs a numeric timestamp over its JSON digits (Node SDK, §12)', () => {
    expect(verifySubDeviceSign({ ...fields, timestamp: 1600000000000 }, VECTOR, 'subSecret', 'sha256')).toBe(true);
    const float = { clientId: 'd', deviceKey: 'd', productKey: 'p', timestamp: 1600000000000.5 };
    expect(timestampText(float.timestamp)).toBe('1600000000000.5');
    expect(subDeviceSignature(float, 's', 'sha256')).toBe(digest('sha256', 'clientIdddeviceKeydproductKeyptimestamp1600000000000.5s'));
  });

  it('ignores cleanSession, secureMode and signMethod (only 4 fields, §0.7)', () => {
    const withExtras = { ...fields, cleanSession: 'true' };
    expect(verifySubDeviceSign(withExtras, VECTOR, 'subSecret', 'sha256')).toBe(true);
  });

  it('refuses a wrong secret or a sign over other fields', () => {
    expect(verifySubDeviceSign(fields, VECTOR, 'otherSecret', 'sha256')).toBe(false);
    expect(verifySubDeviceSign({ ...fields, deviceKey: 'subDK2' }, VECTOR, 'subSecret', 'sha256')).toBe(false);
  });

  it('accepts the documented 5-field form with cleanSession only when asked to', () => {
    const f = { clientId: '123', deviceKey: 'test', productKey: '123', timestamp: '123', cleanSession: 'true' };
    const fiveField = digest('sha1', 'cleanSessiontrueclientId123deviceKeytestproductKey123timestamp123devSecret').toUpperCase();
    expect(verifySubDeviceSign(f, fiveField, 'devSecret', 'sha1')).toBe(false);
    expect(verifySubDeviceSign(f, fiveField, 'devSecret', 'sha1', { allowCleanSessionForm: true })).toBe(true);
    expect(verifySubDeviceSign({ ...f, cleanSession: true }, fiveField, 'devSecret', 'sha1', { allowCleanSessionForm: true })).toBe(true);
    // Without cleanSession in the request there is no 5-field form to try.
    const { cleanSession: _omit, ...four } = f;
    expect(verifySubDeviceSign(four, fiveField, 'devSecret', 'sha1', { allowCleanSessionForm: true })).toBe(false);
  });

  it('batch login: the shared clientId (gateway productKey) and string timestamp per sub-device', () => {
    const shared = { clientId: 'gwPk', timestamp: '1564988853275' };
    const sign = digest('sha256', 'clientIdgwPkdeviceKeyxGKFwfkEXzproductKeyx4jwTsoztimestamp1564988853275subSec');
    expect(verifySubDeviceSign({ ...shared, productKey: 'x4jwTsoz', deviceKey: 'xGKFwfkEXz' }, sign, 'subSec', 'sha256')).toBe(true);
  });

  it('reads the sign method from signMethod or signmethod', () => {
    expect(subDeviceSignMethodLabel({ signMethod: 'sha256' })).toBe('sha256');
    expect(subDeviceSignMethodLabel({ signmethod: 'hmacSha256' })).toBe('hmacSha256');
    expect(subDeviceSignMethodLabel({ sign: 'x' })).toBeUndefined();
    expect(subDeviceSignMethodLabel({ signMethod: 5 })).toBeUndefined();
  });
});

describe('Alibaba CONNECT (§2.6)', () => {
  const fields = { clientId: '12345', deviceName: 'device', productKey: 'pk', timestamp: '789' };

  it('reproduces the FAFD82A3… vector (hmacsha1)', () => {
    expect(alibabaSign(fields, 'secret', 'sha1').toUpperCase()).toBe('FAFD82A3D602B37FB0FA8B7892F24A477F851A14');
    expect(verifyAlibabaPassword(fields, 'fafd82a3d602b37fb0fa8b7892f24a477f851a14', 'secret', 'sha1')).toBe(true);
    expect(verifyAlibabaPassword(fields, 'FAFD82A3D602B37FB0FA8B7892F24A477F851A14', 'secret2', 'sha1')).toBe(false);
  });

  it('leaves the timestamp out of the signed text when absent', () => {
    const expected = createHmac('sha256', 'secret').update('clientId12345deviceNamedeviceproductKeypk').digest('hex');
    expect(alibabaSign({ clientId: '12345', deviceName: 'device', productKey: 'pk' }, 'secret', 'sha256')).toBe(expected);
  });

  it('maps hmac labels and has no default', () => {
    expect(alibabaSignMethodAlgo('hmacmd5')).toBe('md5');
    expect(alibabaSignMethodAlgo('hmacSHA1')).toBe('sha1');
    expect(alibabaSignMethodAlgo('hmacsha256')).toBe('sha256');
    expect(alibabaSignMethodAlgo('')).toBeNull();
    expect(alibabaSignMethodAlgo('hmacsha512')).toBeNull();
  });
});
