import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import plist from 'plist';
import { createCa, issue } from '@edgehub/simulators/apple';
import { CommandParamsError, appleRequestTypes, operationToRequestType, renderCommand } from '../src/device-types/ios/commands.js';
import { buildEnrollmentProfile, signEnrollmentProfile } from '../src/device-types/ios/enrollment-profile.js';

const run = promisify(execFile);

/** Python's standard plistlib, strict XML: what every plist the server emits must satisfy. */
const pythonCheck = `
import plistlib, sys, json
out = []
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        d = plistlib.loads(f.read(), fmt=plistlib.FMT_XML)
    out.append(d)
def enc(o):
    if isinstance(o, bytes): return {'$data': len(o)}
    raise TypeError(type(o))
print(json.dumps(out, default=enc))
`;

const sampleParams: Record<string, Record<string, unknown>> = {
  DeviceLock: { Message: 'Lost <device> & "call" IT', PhoneNumber: '+1 555 0100' },
  EraseDevice: { PreserveDataPlan: true, DisallowProximitySetup: false },
  DeviceInformation: { Queries: ['UDID', 'SerialNumber'] },
  ProfileList: { ManagedOnly: true },
  InstallProfile: { Payload: Buffer.from('<plist/>').toString('base64') },
  RemoveProfile: { Identifier: 'com.example.wifi' },
  InstalledApplicationList: { ManagedAppsOnly: true },
  InstallApplication: { ManifestURL: 'https://apps.example.com/app/manifest.plist', ManagementFlags: 1 },
  RemoveApplication: { Identifier: 'com.example.app' },
  EnableLostMode: { Message: 'Return to reception', Footnote: 'ACME' },
};

describe('plists the server emits parse with Python plistlib (docs/DEVICE-MANAGEMENT.md, "Apple: commands")', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ios-plist-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function pythonLoads(texts: (string | Buffer)[]): Promise<Record<string, unknown>[]> {
    const files = await Promise.all(
      texts.map(async (t, i) => {
        const f = join(dir, `p${i}.plist`);
        await writeFile(f, t);
        return f;
      }),
    );
    const { stdout } = await run('python3', ['-c', pythonCheck, ...files]);
    return JSON.parse(stdout) as Record<string, unknown>[];
  }

  it('every command type', async () => {
    const rendered = appleRequestTypes.map((type) =>
      renderCommand(`UUID-${type}`, type, sampleParams[type] ?? {}, { unlockToken: Buffer.from('unlock') }),
    );
    const parsed = await pythonLoads(rendered.map((r) => r.plist));
    parsed.forEach((d, i) => {
      const type = appleRequestTypes[i]!;
      expect(d).toMatchObject({ CommandUUID: `UUID-${type}`, Command: { RequestType: type } });
    });
    expect(parsed[appleRequestTypes.indexOf('DeviceLock')]).toMatchObject({ Command: { Message: 'Lost <device> & "call" IT' } });
    expect(parsed[appleRequestTypes.indexOf('ClearPasscode')]).toMatchObject({ Command: { UnlockToken: { $data: 6 } } });
  });

  it('generic operation codes render to their Apple request', () => {
    for (const [code, type] of Object.entries(operationToRequestType)) {
      expect(renderCommand('u', code, sampleParams[type] ?? {}, { unlockToken: Buffer.from('x') }).requestType).toBe(type);
    }
  });

  it('bad parameters are refused before anything is queued', () => {
    expect(() => renderCommand('u', 'DEVICE_LOCK', { Message: 42 })).toThrow(CommandParamsError);
    expect(() => renderCommand('u', 'INSTALL_APPLICATION', { ManifestURL: 'http://insecure', Identifier: 'a' })).toThrow(/exactly one/);
    expect(() => renderCommand('u', 'INSTALL_APPLICATION', { ManifestURL: 'http://insecure' })).toThrow(/https/);
    expect(() => renderCommand('u', 'CLEAR_PASSCODE', {})).toThrow(/UnlockToken/);
    expect(() => renderCommand('u', 'DEVICE_RING', {})).toThrow(/not an iOS command/);
  });

  it('the enrollment profile: identity, root CA and MDM payloads, signed as CMS that openssl verifies', async () => {
    const ca = await createCa('Hub CA');
    const xml = buildEnrollmentProfile({
      serverUrl: 'https://hub.example.com/mdm',
      checkInUrl: 'https://hub.example.com/mdm/checkin',
      topic: 'com.apple.mgmt.External.abc',
      identity: { kind: 'scep', url: 'https://hub.example.com/scep', challenge: 's3cret' },
      trustedCaDers: [ca.certDer],
      organization: 'ACME & Co',
    });
    const [profile] = await pythonLoads([xml]);
    const content = (profile as { PayloadContent: Record<string, unknown>[] }).PayloadContent;
    expect(content.map((p) => p.PayloadType)).toEqual(['com.apple.security.root', 'com.apple.security.scep', 'com.apple.mdm']);
    expect(content[2]).toMatchObject({
      IdentityCertificateUUID: content[1]!.PayloadUUID,
      Topic: 'com.apple.mgmt.External.abc',
      ServerURL: 'https://hub.example.com/mdm',
      CheckInURL: 'https://hub.example.com/mdm/checkin',
      SignMessage: true,
      AccessRights: 8191,
    });

    const signer = await issue(ca, { subject: { CN: 'hub.example.com' }, server: true });
    const der = await signEnrollmentProfile(xml, signer.certDer, signer.privateKey);
    await writeFile(join(dir, 'profile.mobileconfig'), der);
    await writeFile(join(dir, 'ca.pem'), ca.certPem);
    const { stdout } = await run(
      'openssl',
      ['cms', '-verify', '-inform', 'DER', '-in', join(dir, 'profile.mobileconfig'), '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any'],
      { encoding: 'utf8' },
    );
    expect(plist.parse(stdout)).toMatchObject({ PayloadType: 'Configuration', PayloadOrganization: 'ACME & Co' });
  });
});
