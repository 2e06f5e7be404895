import { BlockList, isIPv6, type Socket } from 'node:net';

/**
 * PROXY protocol version 2 (the binary header HAProxy's `send-proxy-v2` writes before the client's
 * first byte; docs/DEPLOYMENT.md): tells the hub the device's own address behind a load balancer.
 *
 * Accepted only from configured proxy addresses (HUB_MQTT_PROXY_PROTOCOL_FROM): a connection from
 * one of them must start with a valid header, and a header from anybody else is never believed
 * (a device could otherwise claim any address). Nothing but the header is consumed: the bytes
 * after it are put back for MQTT or TLS.
 */
const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
/** Fixed part: signature, version/command, family/transport, address length. */
const FIXED = 16;
/** Addresses plus a few TLVs; HAProxy sends far less. Anything longer is refused before buffering it. */
const MAX_ADDRESS_BLOCK = 512;

export interface ProxiedAddress {
  address: string;
  port: number;
}

export class ProxyHeaderError extends Error {
  override name = 'ProxyHeaderError';
}

/**
 * Parses one header from the start of `buf`. Resolves `need` when more bytes are needed; `local`
 * for a LOCAL command (the proxy's own health check: use the socket's address).
 */
export function parseProxyV2(buf: Buffer): { need: number } | { length: number; source?: ProxiedAddress } {
  const have = Math.min(buf.length, SIGNATURE.length);
  if (!buf.subarray(0, have).equals(SIGNATURE.subarray(0, have)))
    throw new ProxyHeaderError('connection from a trusted proxy without a PROXY protocol v2 header');
  if (buf.length < FIXED) return { need: FIXED - buf.length };
  const versionCommand = buf[12]!;
  if (versionCommand >> 4 !== 2) throw new ProxyHeaderError(`PROXY protocol version ${versionCommand >> 4} (only 2 is accepted)`);
  const command = versionCommand & 0x0f;
  const addressLength = buf.readUInt16BE(14);
  if (addressLength > MAX_ADDRESS_BLOCK) throw new ProxyHeaderError(`PROXY header address block of ${addressLength} bytes`);
  const length = FIXED + addressLength;
  if (buf.length < length) return { need: length - buf.length };
  if (command === 0x0) return { length };
  if (command !== 0x1) throw new ProxyHeaderError(`PROXY command ${command}`);
  const family = buf[13]!;
  const block = buf.subarray(FIXED, length);
  switch (family) {
    case 0x11: // TCP over IPv4
      if (block.length < 12) throw new ProxyHeaderError('short IPv4 address block');
      return { length, source: { address: [...block.subarray(0, 4)].join('.'), port: block.readUInt16BE(8) } };
    case 0x21: {
      // TCP over IPv6
      if (block.length < 36) throw new ProxyHeaderError('short IPv6 address block');
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(block.readUInt16BE(i).toString(16));
      return { length, source: { address: groups.join(':'), port: block.readUInt16BE(32) } };
    }
    case 0x00: // UNSPEC: keep the socket's own address
      return { length };
    default:
      throw new ProxyHeaderError(`PROXY address family 0x${family.toString(16)} (only TCP over IPv4/IPv6)`);
  }
}

/** The proxies allowed to send PROXY headers: addresses and CIDR ranges, IPv4 or IPv6. */
export function trustedProxies(list: string[]): BlockList {
  const trusted = new BlockList();
  for (const entry of list) {
    const [address, prefix] = entry.split('/');
    const type = isIPv6(address!) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) trusted.addAddress(address!, type);
    else trusted.addSubnet(address!, Number(prefix), type);
  }
  return trusted;
}

export function isTrusted(trusted: BlockList, socket: Socket): boolean {
  const remote = socket.remoteAddress;
  if (!remote) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(remote);
  if (mapped) return trusted.check(mapped[1]!, 'ipv4');
  return trusted.check(remote, isIPv6(remote) ? 'ipv6' : 'ipv4');
}

/**
 * Reads the header off a socket from a trusted proxy, then hands the socket on with the rest of its
 * bytes unread. A missing or bad header, or none within `timeoutMs`, destroys the socket.
 */
export function acceptProxied(
  socket: Socket,
  timeoutMs: number,
  onReady: (source: ProxiedAddress | undefined) => void,
  onRefused: (reason: string) => void,
): void {
  let buf: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => fail('no PROXY header in time'), timeoutMs);
  const fail = (reason: string) => {
    clearTimeout(timer);
    socket.off('data', onData);
    onRefused(reason);
    socket.destroy();
  };
  const onData = (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    let parsed: ReturnType<typeof parseProxyV2>;
    try {
      parsed = parseProxyV2(buf);
    } catch (err) {
      return fail((err as Error).message);
    }
    if ('need' in parsed) return;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.pause();
    const rest = buf.subarray(parsed.length);
    if (rest.length > 0) socket.unshift(rest);
    onReady(parsed.source);
  };
  socket.on('data', onData);
  socket.once('close', () => clearTimeout(timer));
}
