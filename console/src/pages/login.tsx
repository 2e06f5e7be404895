import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import { Session } from '../api/session.js';
import { ErrorText, Field, Status, describe } from '../ui.js';

/**
 * Log in with an application's access key and secret (docs/CONSOLE.md). The secret stays in memory
 * to sign calls; without an organization ID an administrator application gets the first one it sees.
 */
export function Login(props: { notice: string; onLogin: (s: Session) => void; onEnd: (reason: string) => void }): JSX.Element {
  const [appKey, setAppKey] = useState('');
  const [secret, setSecret] = useState('');
  const [orgId, setOrgId] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const s = await Session.login(appKey.trim(), secret.trim(), orgId.trim(), props.onEnd);
      if (!s.orgId) {
        const orgs = await s.call<{ orgId: string }[]>(endpoints.organizations, {}, undefined, { orgScoped: false });
        const first = orgs.data[0];
        if (!first) throw new Error('Give an organization ID: this application cannot list organizations');
        s.orgId = first.orgId;
      }
      props.onLogin(s);
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <h1>edgehub console</h1>
      {props.notice && <Status text={props.notice} />}
      <form onSubmit={(e) => void submit(e)} aria-label="Log in">
        <Field label="Access key" name="accessKey" value={appKey} onInput={setAppKey} required autoComplete="username" />
        <Field label="Secret" name="secret" type="password" value={secret} onInput={setSecret} required autoComplete="current-password" />
        <Field
          label="Organization ID"
          name="orgId"
          value={orgId}
          onInput={setOrgId}
          hint="Optional for administrator applications: the first organization is used."
        />
        <ErrorText text={error} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p class="hint">The token and secret are kept in this tab's memory only: a reload or logout forgets them.</p>
    </main>
  );
}
