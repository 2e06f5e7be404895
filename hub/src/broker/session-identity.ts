/**
 * The key aedes keeps a connection's session under (persistent subscriptions, queued QoS 1
 * messages, takeover of an older connection). It is derived from the identity the CONNECT proved,
 * never from the ClientId text a client chose: two devices that send the same ClientId keep
 * separate sessions and cannot close each other (docs/SECURITY.md, "Identity and sessions").
 */
export function deviceSessionId(productKey: string, deviceKey: string): string {
  return `device/${productKey}/${deviceKey}`;
}

/**
 * An application may hold several stream connections, one per `cid` it chooses; they are keyed
 * under its appId so another application cannot take one over.
 */
export function appSessionId(appId: string, cid: string): string {
  return `app/${appId}/${cid}`;
}
