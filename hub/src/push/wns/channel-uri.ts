/**
 * Which channel URIs the hub pushes to (docs/DEVICE-MANAGEMENT.md, "Windows: push"). A device
 * reports its channel URI and the hub POSTs its WNS access token there, so a URI outside the
 * allowed origins is refused: a device must not be able to make the hub send its token elsewhere.
 * A pattern is `scheme://host[:port]`, the host may start with `*.` (any subdomain).
 */
export const defaultChannelOrigins = ['https://*.notify.windows.com'];

const maxChannelUriLength = 2048;

export class ChannelOrigins {
  private readonly patterns: { protocol: string; host: string; wildcard: boolean; port: string }[];

  constructor(patterns: readonly string[] = defaultChannelOrigins) {
    this.patterns = patterns.map((p) => {
      const m = /^(https?):\/\/(\*\.)?([A-Za-z0-9.-]+)(?::(\d+))?\/?$/.exec(p.trim());
      if (!m) throw new Error(`HUB_WNS_CHANNEL_ORIGINS: ${p} is not scheme://host[:port]`);
      return { protocol: `${m[1]}:`, wildcard: m[2] !== undefined, host: m[3]!.toLowerCase(), port: m[4] ?? '' };
    });
  }

  /** The URI if it may be pushed to, else undefined. */
  check(uri: string): URL | undefined {
    if (uri.length > maxChannelUriLength) return undefined;
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return undefined;
    }
    if (url.username || url.password) return undefined;
    const host = url.hostname.toLowerCase();
    const ok = this.patterns.some(
      (p) => p.protocol === url.protocol && p.port === url.port && (p.wildcard ? host.endsWith(`.${p.host}`) : host === p.host),
    );
    return ok ? url : undefined;
  }
}
