import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CaSubject } from './authority/names.js';
import type { CertificateServerOptions } from './http/server.js';

/** The standalone service's configuration, from CERT_SERVICE_* variables; defaults in one place. */
export interface CertificateServiceConfig {
  dataDir: string;
  host: string;
  port: number;
  /** Never logged. */
  sharedSecrets: string[];
  publicBaseUrl?: string;
  subject: Partial<CaSubject>;
  caFiles?: CertificateServerOptions['files'];
  tls?: { key: string; cert: string };
  crlLifetimeHours: number;
  serialBits: number;
  supersededGraceHours: number;
  logLevel: string;
}

export const defaults = {
  dataDir: './data/certificate-service',
  host: '127.0.0.1',
  port: 8081,
  crlLifetimeHours: 48,
  serialBits: 53,
  supersededGraceHours: 168,
  logLevel: 'info',
} as const;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * CERT_SERVICE_DATA_DIR, _HOST, _PORT, _PUBLIC_URL (base of the CRL URL in certificates),
 * _SECRET or _SECRET_FILE (shared secret(s) for the hub API; comma- or newline-separated to rotate),
 * _CA_C, _CA_ST, _CA_L, _CA_O, _CA_OU (subject of a generated CA),
 * _CA_ROOT_CERT + _CA_RSA_CERT + _CA_RSA_KEY + _CA_ECC_CERT + _CA_ECC_KEY (operator-supplied CA, all or none),
 * _CA_ROOT_KEY (optional with an operator CA: publishes the root CRL),
 * _TLS_CERT + _TLS_KEY (serve HTTPS), _CRL_LIFETIME_HOURS, _SERIAL_BITS, _SUPERSEDED_GRACE_HOURS; LOG_LEVEL.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CertificateServiceConfig {
  const get = (name: string) => {
    const v = env[`CERT_SERVICE_${name}`];
    return v === undefined || v === '' ? undefined : v;
  };
  const int = (name: string, fallback: number, min: number, max: number) => {
    const raw = get(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new ConfigError(`CERT_SERVICE_${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    return n;
  };

  const secretFile = get('SECRET_FILE');
  const secretText = secretFile ? readFileSync(secretFile, 'utf8') : get('SECRET');
  const sharedSecrets = (secretText ?? '')
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (sharedSecrets.length === 0)
    throw new ConfigError('set CERT_SERVICE_SECRET or CERT_SERVICE_SECRET_FILE: the hub API of the certificate service is never open');
  if (sharedSecrets.some((s) => s.length < 32))
    throw new ConfigError('each CERT_SERVICE_SECRET must be at least 32 characters (e.g. `openssl rand -hex 32`)');

  const subject: Partial<CaSubject> = {};
  for (const field of ['C', 'ST', 'L', 'O', 'OU'] as const) {
    const v = get(`CA_${field}`);
    if (v !== undefined) subject[field] = v;
  }

  const caVars = ['CA_ROOT_CERT', 'CA_RSA_CERT', 'CA_RSA_KEY', 'CA_ECC_CERT', 'CA_ECC_KEY'] as const;
  const given = caVars.filter((v) => get(v) !== undefined);
  if (given.length > 0 && given.length < caVars.length) {
    throw new ConfigError(`an operator-supplied CA needs all of ${caVars.map((v) => `CERT_SERVICE_${v}`).join(', ')}`);
  }
  const caFiles =
    given.length === caVars.length
      ? {
          rootCert: get('CA_ROOT_CERT')!,
          ...(get('CA_ROOT_KEY') ? { rootKey: get('CA_ROOT_KEY')! } : {}),
          RSA: { cert: get('CA_RSA_CERT')!, key: get('CA_RSA_KEY')! },
          ECC: { cert: get('CA_ECC_CERT')!, key: get('CA_ECC_KEY')! },
        }
      : undefined;

  const tlsCert = get('TLS_CERT');
  const tlsKey = get('TLS_KEY');
  if ((tlsCert === undefined) !== (tlsKey === undefined))
    throw new ConfigError('set both CERT_SERVICE_TLS_CERT and CERT_SERVICE_TLS_KEY, or neither');

  const logLevel = env['LOG_LEVEL'] ?? defaults.logLevel;
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, got "${logLevel}"`);

  const publicBaseUrl = get('PUBLIC_URL');
  return {
    dataDir: resolve(get('DATA_DIR') ?? defaults.dataDir),
    host: get('HOST') ?? defaults.host,
    port: int('PORT', defaults.port, 0, 65535),
    sharedSecrets,
    ...(publicBaseUrl ? { publicBaseUrl } : {}),
    subject,
    ...(caFiles ? { caFiles } : {}),
    ...(tlsCert && tlsKey ? { tls: { cert: readFileSync(tlsCert, 'utf8'), key: readFileSync(tlsKey, 'utf8') } } : {}),
    crlLifetimeHours: int('CRL_LIFETIME_HOURS', defaults.crlLifetimeHours, 1, 24 * 365),
    serialBits: int('SERIAL_BITS', defaults.serialBits, 32, 159),
    supersededGraceHours: int('SUPERSEDED_GRACE_HOURS', defaults.supersededGraceHours, 0, 24 * 3650),
    logLevel,
  };
}
