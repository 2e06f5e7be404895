import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import { ErrorText, Field, Section, describe } from '../ui.js';

interface MdmDevice {
  deviceIdentifier: string;
  name?: string;
  type: string;
  enrolmentInfo?: { status?: string; ownership?: string; dateOfLastUpdate?: number };
}

/**
 * Devices of every type in one list, from the device-management core (docs/DEVICE-MANAGEMENT.md).
 * Its API takes an OAuth2 client's bearer token (POST /token, client credentials), kept in memory.
 * Operations, lock / info / wipe, groups and the app store are not built yet (docs/CONSOLE.md).
 */
export function DeviceManagement(_props: { session: Session }): JSX.Element {
  const [clientId, setClientId] = useState('');
  const [clientSecret, setClientSecret] = useState('');
  const [token, setToken] = useState('');
  const [devices, setDevices] = useState<MdmDevice[] | null>(null);
  const [error, setError] = useState('');

  const connect = async (e: Event) => {
    e.preventDefault();
    setError('');
    try {
      const res = await fetch('/token', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret }).toString(),
      });
      const body = (await res.json()) as { access_token?: string; error_description?: string };
      if (!res.ok || !body.access_token) throw new Error(body.error_description ?? `token refused (${res.status})`);
      setToken(body.access_token);
      setClientSecret('');
      await load(body.access_token);
    } catch (err) {
      setError(describe(err));
    }
  };
  const load = async (bearer: string) => {
    const res = await fetch(`${endpoints.mdmDevices.path}?limit=100`, { headers: { authorization: `Bearer ${bearer}` } });
    if (!res.ok) throw new Error(`device list refused (${res.status})`);
    const body = (await res.json()) as { devices?: MdmDevice[] };
    setDevices(body.devices ?? []);
  };

  return (
    <>
      <h1>Device management</h1>
      {!token && (
        <Section title="Connect an OAuth2 client">
          <p>The device-management API takes a client of its own (client credentials).</p>
          <form onSubmit={(e) => void connect(e)} aria-label="Device-management client">
            <Field label="Client ID" value={clientId} onInput={setClientId} required />
            <Field label="Client secret" type="password" value={clientSecret} onInput={setClientSecret} required />
            <button type="submit" class="primary">
              Connect
            </button>
          </form>
        </Section>
      )}
      <ErrorText text={error} />
      {devices && (
        <Section title="Devices of every type">
          <table>
            <caption class="sr-only">Managed devices</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Identifier</th>
                <th scope="col">Enrolment</th>
              </tr>
            </thead>
            <tbody>
              {devices.map((d) => (
                <tr key={`${d.type}/${d.deviceIdentifier}`}>
                  <td>{d.name ?? ''}</td>
                  <td>{d.type}</td>
                  <td>
                    <code>{d.deviceIdentifier}</code>
                  </td>
                  <td>{d.enrolmentInfo?.status ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </Section>
      )}
    </>
  );
}
