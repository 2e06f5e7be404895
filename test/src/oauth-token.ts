/**
 * An OAuth2 client-credentials token from the hub's `POST /token` (docs/DEVICE-MANAGEMENT.md,
 * "Management REST"): what every device-management test logs in with.
 */
export async function clientCredentialsToken(
  baseUrl: string,
  client: { accessKey: string; accessSecret: string },
  scope?: string,
): Promise<string> {
  const r = await fetch(`${baseUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client.accessKey}:${client.accessSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString(),
  });
  if (r.status !== 200) throw new Error(`POST /token answered ${r.status}: ${await r.text()}`);
  return ((await r.json()) as { access_token: string }).access_token;
}
