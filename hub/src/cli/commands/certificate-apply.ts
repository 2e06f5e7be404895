import 'reflect-metadata';
import { readFile, writeFile } from 'node:fs/promises';
import { buildCsr, exportPrivateKeyPem, generateDeviceKey, issueAuthorityOf, type DeviceKeyKind } from '@edgehub/shared/device-certificate';
import { writeSecretFile } from '@edgehub/shared/secret-file';
import * as x509 from '@peculiar/x509';
import { Option, type Command } from 'commander';
import { UsageError } from '../errors.js';
import { describeRef, deviceFrom, intIn, type DeviceRefOptions } from '../options.js';
import { keyValues } from '../output.js';
import { openSession, outputFor, type GlobalOptions, type Session } from '../session.js';
import type { DeviceView } from '../views.js';

interface ApplyOptions extends DeviceRefOptions, GlobalOptions {
  csr?: string;
  keyOut?: string;
  keyType: 'ec' | 'rsa';
  certOut?: string;
  authority?: 'RSA' | 'ECC';
  validDay?: number;
  cn?: string;
  ou: string;
}

interface Issued {
  cert: string;
  caCert: string;
  certChainURL: string;
  certSN: string;
  issueAuthority: string;
}

/** RFC 5280 CRLReason codes the hub accepts (docs/ENOS-PROTOCOL.md §6). */
const REASONS = ['0', '1', '3', '4', '5', '6', '9'];

/** `certificate apply|revoke|ca|crl` (docs/ENOS-PROTOCOL.md §6, §7.3). */
export function registerCertificateIssue(certificate: Command): void {
  deviceArgs(certificate.command('apply'))
    .description('have the hub sign a certificate for a device: from your CSR, or from a key and CSR made here (the key is written 0600)')
    .option('--csr <file.csr>', 'a PEM PKCS#10 request; without it a key and a CSR are generated')
    .option('--key-out <file.pem>', 'without --csr: write the new private key here (mode 0600; an existing file is never replaced)')
    .addOption(
      new Option('--key-type <type>', 'without --csr: the key to generate (ec: P-256, signed by the ECC CA; rsa: 2048 bits)')
        .choices(['ec', 'rsa'])
        .default('ec'),
    )
    .option('--cn <commonName>', 'without --csr: the subject CN (default: the assetId, unique among valid certificates)')
    .option('--ou <unit>', 'without --csr: the subject OU', 'Devices')
    .option('--cert-out <file.pem>', 'write the certificate here instead of printing it')
    .addOption(new Option('--authority <ca>', 'the issuing CA (default: from the key type)').choices(['RSA', 'ECC']))
    .option('--valid-day <n>', "days of validity (default: the product's)", intIn(1, 3650))
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<ApplyOptions>();
      const out = outputFor(o);
      const ref = deviceFrom(arg, o);
      if (o.csr !== undefined && o.keyOut !== undefined)
        throw new UsageError('--key-out is for a generated key; with --csr the key is yours');
      if (o.csr === undefined && o.keyOut === undefined)
        throw new UsageError('give --csr <file.csr>, or --key-out <file.pem> to have a key and CSR generated');
      const session = await openSession(o, out);
      let csr: string;
      let authority = o.authority;
      if (o.csr !== undefined) csr = await readText(o.csr, 'the CSR');
      else {
        const made = await generatedCsr(session, ref, o);
        csr = made.csr;
        authority ??= made.authority;
        // The key is saved before the hub is asked: a signed certificate without its key is useless.
        await writeKey(o.keyOut!, made.keyPem);
      }
      const body: Record<string, unknown> = { csr };
      if (authority !== undefined) body['issueAuthority'] = authority;
      if (o.validDay !== undefined) body['validDay'] = o.validDay;
      const r = await session.ok<Issued>('POST', 'certificates', 'apply', ref, body);
      if (o.certOut !== undefined) await writeFile(o.certOut, r.data.cert);
      const result = { ...r.data, device: ref, keyFile: o.keyOut ?? null, certFile: o.certOut ?? null };
      out.result(result, () =>
        o.certOut === undefined
          ? r.data.cert
          : keyValues([
              ['certSN', r.data.certSN],
              ['issueAuthority', r.data.issueAuthority],
              ['certificate', o.certOut],
              ['key', o.keyOut ?? '(yours)'],
              ['certChainURL', r.data.certChainURL],
            ]),
      );
      if (!o.json) out.notice(`signed certificate ${r.data.certSN} for ${describeRef(ref)}`);
    });

  deviceArgs(certificate.command('revoke'))
    .description('revoke a certificate of a device; it is on the CRL from then on')
    .requiredOption('--cert-sn <certSN>', 'the certificate serial (as `certificate list` shows it)')
    .addOption(
      new Option(
        '--reason <code>',
        'RFC 5280 reason: 0 unspecified, 1 key compromise, 3 affiliation changed, 4 superseded, 5 cessation, 6 hold, 9 privilege withdrawn',
      )
        .choices(REASONS)
        .default('0'),
    )
    .action(async (arg: string | undefined, _o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<DeviceRefOptions & GlobalOptions & { certSn: string; reason: string }>();
      const out = outputFor(o);
      const ref = deviceFrom(arg, o);
      if (!/^\d{1,49}$/.test(o.certSn)) throw new UsageError(`--cert-sn: a decimal serial, got '${o.certSn}'`);
      const session = await openSession(o, out);
      await session.ok('POST', 'certificates', 'revoke', ref, { certSn: certSnValue(o.certSn), reason: Number(o.reason) });
      out.result(
        { revoked: o.certSn, device: ref, reason: Number(o.reason) },
        () => `revoked certificate ${o.certSn} of ${describeRef(ref)}`,
      );
    });

  certificate
    .command('ca')
    .description('download the CA certificates devices trust (PEM): the root, or with --authority the issuing CA then the root')
    .addOption(new Option('--authority <ca>', 'the issuing CA whose chain to download').choices(['RSA', 'ECC']))
    .option('--out <file.pem>', 'write to this file instead of stdout')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<GlobalOptions & { authority?: string; out?: string }>();
      const out = outputFor(o);
      const session = await openSession(o, out);
      const pem = new TextDecoder().decode(await download(session, o.authority ? `/enos/CA/cacert/${o.authority}` : '/enos/CA/cacert'));
      if (o.out !== undefined) {
        await writeFile(o.out, pem);
        out.result({ file: o.out }, () => `wrote ${o.out}`);
      } else process.stdout.write(pem);
    });

  certificate
    .command('crl')
    .description('download a certificate revocation list (DER): of an issuing CA, or of the root')
    .addOption(new Option('--authority <ca>', 'whose CRL').choices(['RSA', 'ECC', 'root']).default('RSA'))
    .option('--out <file.crl>', 'write to this file (required when stdout is a terminal: a CRL is binary)')
    .action(async (_o: unknown, cmd: Command) => {
      const o = cmd.optsWithGlobals<GlobalOptions & { authority: string; out?: string }>();
      const out = outputFor(o);
      if (o.out === undefined && process.stdout.isTTY) throw new UsageError('a CRL is binary: give --out <file.crl> or redirect stdout');
      const session = await openSession(o, out);
      const der = await download(session, `/enos/CA/crl/${o.authority}`);
      if (o.out !== undefined) {
        await writeFile(o.out, der);
        out.result({ file: o.out, bytes: der.length }, () => `wrote ${o.out} (${der.length} bytes)`);
      } else process.stdout.write(der);
    });
}

function deviceArgs(cmd: Command): Command {
  return cmd
    .argument('[device]', 'productKey/deviceKey or an assetId (or --asset-id, --product with --key)')
    .option('--asset-id <assetId>', 'the device asset id')
    .option('--product <productKey>', 'the product key (with --key)')
    .option('--key <deviceKey>', 'the device key (with --product)');
}

/**
 * A key and a CSR the hub's CA accepts: C, ST and O as in the root CA's subject (§6), L as ST, the
 * CN the device's assetId unless given.
 */
async function generatedCsr(
  session: Session,
  ref: Record<string, string>,
  o: ApplyOptions,
): Promise<{ csr: string; keyPem: string; authority: 'RSA' | 'ECC' }> {
  const device = (await session.ok<DeviceView>('GET', 'devices', 'get', ref)).data;
  const root = new x509.X509Certificate(new TextDecoder().decode(await download(session, '/enos/CA/cacert')));
  const field = (name: string) => root.subjectName.getField(name)[0];
  const C = field('C');
  const ST = field('ST');
  const O = field('O');
  if (!C || !ST || !O) throw new Error("the hub's root CA has no C, ST and O in its subject; make the CSR yourself and give --csr");
  const kind: DeviceKeyKind = o.keyType === 'rsa' ? 'RSA-2048' : 'P-256';
  const keys = await generateDeviceKey(kind);
  const csr = await buildCsr({ keys, subject: { C, ST, L: ST, O, OU: o.ou, CN: o.cn ?? device.assetId } });
  return { csr, keyPem: await exportPrivateKeyPem(keys), authority: issueAuthorityOf(keys) };
}

async function writeKey(path: string, pem: string): Promise<void> {
  try {
    await writeSecretFile(path, pem, { exclusive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new UsageError(`${path} exists; a key is never overwritten: choose another --key-out`);
    throw e;
  }
}

/** The public CA material, outside the signed API (docs/PROTOCOL.md, certificates). */
async function download(session: Session, path: string): Promise<Uint8Array> {
  const res = await fetch(new URL(path, session.profile.url));
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return new Uint8Array(await res.arrayBuffer());
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** §7.3: certSn is a JSON int; the decimal string when it would not survive as one. */
function certSnValue(certSN: string): number | string {
  const n = Number(certSN);
  return Number.isSafeInteger(n) && String(n) === certSN ? n : certSN;
}
