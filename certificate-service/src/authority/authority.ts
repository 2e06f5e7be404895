import { access, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CertificateError } from '../errors.js';
import { syncDirectory } from '../durable.js';
import { silentLogger, type Logger } from '../logger.js';
import { issueAuthorities, type IssueAuthority } from '../store/port.js';
import { defaultCaSubject, type CaSubject } from './names.js';
import { generateCaFiles, type CaCommonNames } from './generate.js';
import { loadCa, type CaPem, type CertificateAuthority } from './load.js';

export type { CertificateAuthority, IssuingCa, SubjectRules } from './load.js';

export interface CertificateAuthorityOptions {
  /** Where a generated CA lives (`{dataDir}/ca`, directory 0700, keys 0600). */
  dataDir: string;
  /** C, ST, L, O, OU of generated CA certificates (defaults: the EnOS CA's, see names.ts). */
  subject?: Partial<CaSubject>;
  commonNames?: Partial<CaCommonNames>;
  /** Root lifetime of a generated CA; the issuing CAs end with it. Default 10 (§6: the EnOS root is valid 10 years). */
  rootValidityYears?: number;
  /**
   * Operator-supplied CA instead of a generated one: PEM file paths. The root's key is not needed.
   * Keys may be PKCS#8, PKCS#1 or SEC1 PEM; "RSA" must hold an RSA key, "ECC" an EC P-256 key.
   */
  files?: OperatorCaFiles;
  now?: () => Date;
  logger?: Logger;
}

export interface OperatorCaFiles {
  rootCert: string;
  /** Optional: with it the service also publishes the root's CRL (`/crl/root.crl`). */
  rootKey?: string;
  RSA: { cert: string; key: string };
  ECC: { cert: string; key: string };
}

const CA_DIR = 'ca';

/** File names inside `{dataDir}/ca`. */
export const caFileNames = {
  rootCert: 'root.crt',
  rootKey: 'root.key',
  cert: (a: IssueAuthority) => `${a}.crt`,
  key: (a: IssueAuthority) => `${a}.key`,
} as const;

/**
 * Opens the CA: the operator's PEM files when configured; otherwise the generated CA in
 * `{dataDir}/ca`, created on first start. Either way the material is validated (chain, key match,
 * key types, C/ST/O present on the root) before anything is issued with it.
 */
export async function openCertificateAuthority(options: CertificateAuthorityOptions): Promise<CertificateAuthority> {
  const logger = options.logger ?? silentLogger;
  if (options.files) {
    const f = options.files;
    const read = (p: string) => readFile(p, 'utf8');
    const pem: CaPem = {
      rootCert: await read(f.rootCert),
      ...(f.rootKey ? { rootKey: await read(f.rootKey) } : {}),
      RSA: { cert: await read(f.RSA.cert), key: await read(f.RSA.key) },
      ECC: { cert: await read(f.ECC.cert), key: await read(f.ECC.key) },
    };
    return loadCa(pem, 'operator', { ...f, logger });
  }

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const dir = join(options.dataDir, CA_DIR);
  if (!(await exists(dir))) await createCaDirectory(options, dir);
  const read = (name: string) => readFile(join(dir, name), 'utf8');
  const pem: CaPem = {
    rootCert: await read(caFileNames.rootCert),
    rootKey: await read(caFileNames.rootKey),
    RSA: { cert: '', key: '' },
    ECC: { cert: '', key: '' },
  };
  for (const a of issueAuthorities) pem[a] = { cert: await read(caFileNames.cert(a)), key: await read(caFileNames.key(a)) };
  return loadCa(pem, 'generated', {
    RSA: { key: join(dir, caFileNames.key('RSA')) },
    ECC: { key: join(dir, caFileNames.key('ECC')) },
    rootKey: join(dir, caFileNames.rootKey),
    logger,
  });
}

/**
 * Generates into a private temporary directory and renames it into place: a crash never leaves a
 * half-made CA that a restart would pick up, and of two processes racing, one CA wins.
 */
async function createCaDirectory(options: CertificateAuthorityOptions, dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await mkdir(tmp, { mode: 0o700 });
  try {
    await generateCaFiles(tmp, {
      subject: { ...defaultCaSubject, ...options.subject },
      commonNames: options.commonNames ?? {},
      rootValidityYears: options.rootValidityYears ?? 10,
      now: (options.now ?? (() => new Date()))(),
    });
    await syncDirectory(tmp);
    try {
      await rename(tmp, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      await rm(tmp, { recursive: true, force: true }); // another process created it first: use theirs
      return;
    }
    await syncDirectory(options.dataDir);
    (options.logger ?? silentLogger).info(`certificate service: generated a new root CA and the RSA and ECC issuing CAs in ${dir}`);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err instanceof CertificateError ? err : new CertificateError('ca.invalid', `cannot create the CA in ${dir}: ${String(err)}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
