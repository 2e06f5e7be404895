import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type {
  CaCertificates,
  CertificateOperations,
  IssuedCertificate,
  IssueRequest,
  IssueResult,
  ListFilter,
  RenewRequest,
  RevocationEvent,
  RevocationFeedPage,
  RevocationFeedRequest,
  RevokeRequest,
  ServerCertificate,
  ServerCertificateRequest,
} from '../api.js';
import { CertificateError, isCertificateErrorCode } from '../errors.js';
import { resolveSerial, type SerialRef } from '../serial.js';
import type { DeviceBinding } from '../store/port.js';
import { checkSecrets, responseSignature, signatureHeaders, signaturesEqual, signRequest } from './signing.js';

export interface CertificateClientOptions {
  /** The standalone server, e.g. http://certs.internal:8081 (no path prefix: the signature covers the path). */
  baseUrl: string;
  sharedSecret: string;
  /** Per call; default 10 s. */
  timeoutMs?: number;
  /** Extra trust anchor (PEM) when the server runs HTTPS with a private certificate. */
  ca?: string;
}

/**
 * The hub's side of the standalone deployment: the same CertificateOperations as the in-process
 * service, over signed HTTP. `onRevoked` fires for revocations made through this client; to see
 * revocations made elsewhere, follow the service with a RevocationSet (it also polls).
 */
export function connectCertificateService(options: CertificateClientOptions): CertificateOperations {
  return new CertificateClient(options);
}

class CertificateClient implements CertificateOperations {
  private readonly secret: string;
  private readonly base: URL;
  private readonly listeners = new Set<(event: RevocationEvent) => void>();

  constructor(private readonly o: CertificateClientOptions) {
    this.secret = checkSecrets(o.sharedSecret)[0]!;
    this.base = new URL(o.baseUrl);
  }

  async issue(request: IssueRequest): Promise<IssueResult> {
    return reviveResult(await this.call('POST', '/v1/certificates/issue', request));
  }

  async renew(request: RenewRequest): Promise<IssueResult> {
    return reviveResult(await this.call('POST', '/v1/certificates/renew', request));
  }

  async revoke(request: RevokeRequest): Promise<IssuedCertificate> {
    const revoked = reviveCertificate(await this.call('POST', '/v1/certificates/revoke', request));
    const event: RevocationEvent = {
      certSN: revoked.certSN,
      serialHex: revoked.serialHex,
      issueAuthority: revoked.issueAuthority,
      binding: revoked.binding,
      reason: revoked.revocationReason ?? 0,
      revokedAt: revoked.revokedAt ?? new Date(),
    };
    for (const listener of this.listeners) listener(event);
    return revoked;
  }

  async get(ref: SerialRef & { scope?: Partial<DeviceBinding> }): Promise<IssuedCertificate | undefined> {
    const { certSN } = resolveSerial(ref);
    try {
      return reviveCertificate(await this.call('GET', `/v1/certificates/${certSN}${query(ref.scope ?? {})}`));
    } catch (err) {
      if (err instanceof CertificateError && err.code === 'cert.not_found') return undefined;
      throw err;
    }
  }

  async list(filter: ListFilter = {}): Promise<IssuedCertificate[]> {
    const q = query({
      ...filter.binding,
      ...(filter.status !== undefined ? { status: String(filter.status) } : {}),
      ...(filter.issueAuthority ? { issueAuthority: filter.issueAuthority } : {}),
      ...(filter.expiresBefore ? { expiresBefore: filter.expiresBefore.toISOString() } : {}),
    });
    return ((await this.call('GET', `/v1/certificates${q}`)) as unknown[]).map(reviveCertificate);
  }

  async caCertificates(): Promise<CaCertificates> {
    return (await this.call('GET', '/v1/ca')) as CaCertificates;
  }

  async revokedSerials(): Promise<string[]> {
    return ((await this.call('GET', '/v1/revoked')) as { serials: string[] }).serials;
  }

  onRevoked(listener: (event: RevocationEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async issueServerCertificate(request: ServerCertificateRequest): Promise<ServerCertificate> {
    const c = (await this.call('POST', '/v1/server-certificates/issue', request)) as ServerCertificate;
    return { ...c, notBefore: new Date(c.notBefore), notAfter: new Date(c.notAfter) };
  }

  async revocations(request: RevocationFeedRequest, signal?: AbortSignal): Promise<RevocationFeedPage> {
    const wait = request.waitSeconds ?? 0;
    const q = query({ after: String(request.after), wait: String(wait), ...(request.epoch ? { epoch: request.epoch } : {}) });
    // The long poll may take its whole wait: the timeout covers it plus the usual allowance.
    return (await this.call('GET', `/v1/revocations${q}`, undefined, {
      timeoutMs: wait * 1000 + (this.o.timeoutMs ?? 10_000),
      ...(signal ? { signal } : {}),
    })) as RevocationFeedPage;
  }

  private call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
    o: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<unknown> {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = { ...signRequest(this.secret, method, path, payload), accept: 'application/json' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    const nonce = headers[signatureHeaders.nonce]!;
    const url = new URL(path, this.base);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers,
          timeout: o.timeoutMs ?? this.o.timeoutMs ?? 10_000,
          ...(o.signal ? { signal: o.signal } : {}),
          ...(this.o.ca ? { ca: this.o.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            try {
              resolve(this.answer(res.statusCode ?? 0, res.headers[signatureHeaders.response], Buffer.concat(chunks), nonce));
            } catch (err) {
              reject(err instanceof Error ? err : new Error(String(err)));
            }
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new CertificateError('remote.failed', `certificate service did not answer ${method} ${path} in time`)),
      );
      req.on('error', (err) =>
        reject(
          err instanceof CertificateError ? err : new CertificateError('remote.failed', `certificate service unreachable: ${err.message}`),
        ),
      );
      req.end(payload);
    });
  }

  private answer(status: number, signature: string | string[] | undefined, body: Buffer, nonce: string): unknown {
    if (status === 401)
      throw new CertificateError('auth.unauthorized', 'the certificate service refused our signature (shared secret or clock?)');
    const expected = responseSignature(this.secret, { nonce, status, body });
    if (!signaturesEqual(expected, Array.isArray(signature) ? signature[0] : signature)) {
      throw new CertificateError('remote.failed', 'the certificate service answer is not signed with our secret');
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new CertificateError('remote.failed', `the certificate service answered ${status} with a non-JSON body`);
    }
    if (status >= 200 && status < 300) return json;
    const e = json as { code?: unknown; message?: unknown };
    if (isCertificateErrorCode(e.code)) throw new CertificateError(e.code, typeof e.message === 'string' ? e.message : e.code);
    throw new CertificateError('remote.failed', `the certificate service answered ${status}`);
  }
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

function reviveCertificate(raw: unknown): IssuedCertificate {
  const c = raw as IssuedCertificate & Record<string, unknown>;
  return {
    ...c,
    notBefore: new Date(c.notBefore),
    notAfter: new Date(c.notAfter),
    issuedAt: new Date(c.issuedAt),
    ...(c.revokedAt ? { revokedAt: new Date(c.revokedAt) } : {}),
  };
}

function reviveResult(raw: unknown): IssueResult {
  const r = raw as IssueResult;
  return { ...r, certificate: reviveCertificate(r.certificate) };
}
