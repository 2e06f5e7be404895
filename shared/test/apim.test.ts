import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { paramsData, requestSignature, signedHeaders, tokenEncryption } from '../src/index.js';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('token encryption (§7.2)', () => {
  it('is lowercase hex sha256 of appKey + timestamp + appSecret', () => {
    const expected = sha256('myAppKey' + '1572574909697' + 'myAppSecret');
    expect(tokenEncryption('myAppKey', '1572574909697', 'myAppSecret')).toBe(expected);
    expect(tokenEncryption('myAppKey', 1572574909697, 'myAppSecret')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('depends on every input and their order', () => {
    const base = tokenEncryption('k', '1', 's');
    expect(tokenEncryption('k', '2', 's')).not.toBe(base);
    expect(tokenEncryption('k', '1', 't')).not.toBe(base);
    expect(tokenEncryption('s', '1', 'k')).not.toBe(base);
  });
});

describe('paramsData (§7.2)', () => {
  it('sorts query keys by code unit and appends the raw body', () => {
    const q = new URLSearchParams('orgId=o1&action=apply&Zeta=z&_u=u');
    // 'Z' (90) < '_' (95) < 'a' (97) < 'o' (111)
    expect(paramsData(q, '{"a":1}')).toBe('Zetaz' + '_uu' + 'actionapply' + 'orgIdo1' + '{"a":1}');
  });

  it('keeps every value of a repeated key, in the order received', () => {
    const q = new URLSearchParams('b=2&a=first&c=3&a=second');
    expect(paramsData(q)).toBe('afirst' + 'asecond' + 'b2' + 'c3');
    const reversed = new URLSearchParams('b=2&a=second&c=3&a=first');
    expect(paramsData(reversed)).toBe('asecond' + 'afirst' + 'b2' + 'c3');
  });

  it('is just the body when there is no query, and empty when there is neither', () => {
    expect(paramsData([], '{"x":1}')).toBe('{"x":1}');
    expect(paramsData([])).toBe('');
  });

  it('reproduces the certificate-apply sample order: action, deviceKey, orgId, productKey, then the body', () => {
    const org = 'o15724268424841';
    const pk = 'Wgey2WXk';
    const dk = 'edge01';
    const body =
      '{"csr":"-----BEGIN CERTIFICATE REQUEST-----\\nMIIB...\\n-----END CERTIFICATE REQUEST-----\\n","validDay":250,"issueAuthority":"RSA"}';
    const url = new URL(
      `https://apim.example/connect-service/v2.0/certificates?orgId=${org}&productKey=${pk}&deviceKey=${dk}&action=apply`,
    );
    const expected = 'actionapply' + 'deviceKey' + dk + 'orgId' + org + 'productKey' + pk + body;
    expect(paramsData(url.searchParams, body)).toBe(expected);

    const token = 'tok-123';
    const ts = '1572574909697';
    const secret = 'appSecret';
    expect(requestSignature(token, url.searchParams, body, ts, secret)).toBe(sha256(token + expected + ts + secret));
  });
});

describe('signedHeaders', () => {
  it('adds token, timestamp and the signature over the URL query and body', () => {
    const url = new URL('https://apim.example/connect-service/v2.1/devices?action=get&orgId=o1&assetId=A1');
    const h = signedHeaders('tok', url, undefined, 'sec', 1_700_000_000_000);
    expect(h['apim-accesstoken']).toBe('tok');
    expect(h['apim-timestamp']).toBe('1700000000000');
    expect(h['apim-signature']).toBe(sha256('tok' + 'actionget' + 'assetIdA1' + 'orgIdo1' + '1700000000000' + 'sec'));
  });
});
