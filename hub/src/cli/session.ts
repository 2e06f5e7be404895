import { ApiClient, ApiError, type ApiResponse } from '../client/api-client.js';
import { loadProfile, profileName, type Profile } from './credentials.js';
import { Output } from './output.js';

/** The options every command inherits from the program. */
export interface GlobalOptions {
  json?: boolean;
  profile?: string;
}

/** The logged-in service account acting in its org: Connection Service calls that throw on a non-zero code. */
export class Session {
  readonly client: ApiClient;

  constructor(readonly profile: Profile) {
    this.client = new ApiClient({ baseUrl: profile.url, accessKey: profile.accessKey, accessSecret: profile.accessSecret });
  }

  get orgId(): string {
    return this.profile.orgId;
  }

  /** Resolves with the envelope whatever its code (for callers that handle per-code outcomes). */
  call<T>(
    method: 'GET' | 'POST',
    resource: string,
    action: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    return this.client.connect<T>(this.orgId, method, resource, action, query, body);
  }

  async ok<T>(
    method: 'GET' | 'POST',
    resource: string,
    action: string,
    query: Record<string, string> = {},
    body?: unknown,
  ): Promise<ApiResponse<T>> {
    const r = await this.call<T>(method, resource, action, query, body);
    if (r.code !== 0) throw new ApiError(r.status, r.code, r.msg);
    return r;
  }
}

export const outputFor = (g: GlobalOptions) => new Output(g.json === true);

export async function openSession(g: GlobalOptions, out: Output): Promise<Session> {
  return new Session(await loadProfile(profileName(g.profile), (msg) => out.notice(msg)));
}
