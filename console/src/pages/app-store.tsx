import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import {
  subscriptionActions,
  type App,
  type DeviceApp,
  type DmDevice,
  type Group,
  type Release,
  type Subscription,
} from '../api/dm-types.js';
import type { Session } from '../api/session.js';
import { ErrorText, Field, Outcome, Section, Select, describe, formatTime, useAction, useLoad } from '../ui.js';

/**
 * The app store (docs/DEVICE-MANAGEMENT.md, "Applications"): published releases, installed (or
 * updated, uninstalled) on groups or devices now or at a scheduled time; the subscriptions and
 * each device's result.
 */
export function AppStore({ session }: { session: Session }): JSX.Element {
  const apps = useLoad(
    () => session.dmAt<{ applications: App[]; count: number }>(endpoints.storeApps, {}, undefined, { limit: 100 }),
    [session],
  );
  const subs = useLoad(
    () => session.dmAt<{ subscriptions: Subscription[]; count: number }>(endpoints.storeSubscriptions, {}, undefined, { limit: 50 }),
    [session],
  );
  const [shown, setShown] = useState<Release | null>(null);
  const [error, setError] = useState('');
  const releases = (apps.data?.applications ?? []).flatMap((a) => (a.releases ?? []).map((r) => ({ app: a, release: r })));
  const label = (uuid: string) => {
    const hit = releases.find((x) => x.release.uuid === uuid);
    return hit ? `${hit.app.name} ${hit.release.platform} ${hit.release.version}` : uuid;
  };
  const cancel = async (s: Subscription) => {
    setError('');
    try {
      await session.dmAt(endpoints.storeCancel, { id: s.id });
      subs.reload();
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <>
      <h1>App store</h1>
      <Section title="Published apps">
        <ErrorText text={apps.error} />
        {releases.length === 0 && <p>No published release yet: publish one in the app publisher.</p>}
        {releases.map(({ app, release }) => (
          <Install
            key={release.uuid}
            session={session}
            app={app}
            release={release}
            onDone={() => {
              subs.reload();
              setShown(release);
            }}
          />
        ))}
      </Section>
      <Section title="Installs">
        <ErrorText text={subs.error || error} />
        <button type="button" onClick={subs.reload}>
          Refresh
        </button>
        <table>
          <caption class="sr-only">Install requests</caption>
          <thead>
            <tr>
              <th scope="col">Release</th>
              <th scope="col">Action</th>
              <th scope="col">Targets</th>
              <th scope="col">When</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(subs.data?.subscriptions ?? []).map((s) => (
              <tr key={s.id} data-subscription={s.id}>
                <td>{label(s.releaseUuid)}</td>
                <td>{s.action}</td>
                <td>
                  {s.targetType}: {s.targets.join(', ')}
                </td>
                <td>{formatTime(s.scheduledAt)}</td>
                <td data-testid="subscription-state">
                  {s.state}
                  {s.error ? ` (${s.error})` : ''}
                </td>
                <td class="row-actions">
                  <button
                    type="button"
                    aria-label={`Devices of ${label(s.releaseUuid)}`}
                    onClick={() => setShown(releases.find((x) => x.release.uuid === s.releaseUuid)?.release ?? null)}
                  >
                    Devices
                  </button>
                  {s.state === 'SCHEDULED' && (
                    <button
                      type="button"
                      class="danger"
                      aria-label={`Cancel the scheduled ${s.action} of ${label(s.releaseUuid)}`}
                      onClick={() => void cancel(s)}
                    >
                      Cancel
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {shown && <DeviceResults key={shown.uuid} session={session} release={shown} title={label(shown.uuid)} />}
    </>
  );
}

function Install(props: { session: Session; app: App; release: Release; onDone: () => void }): JSX.Element {
  const { session, app, release } = props;
  const title = `${app.name} ${release.platform} ${release.version}`;
  const groups = useLoad(() => session.dmAt<{ deviceGroups: Group[] }>(endpoints.mdmGroups, {}, undefined, { limit: 100 }), [session]);
  const devices = useLoad(
    () => session.dmAt<{ devices: DmDevice[] }>(endpoints.mdmDevices, {}, undefined, { type: release.platform, limit: 100 }),
    [session, release.platform],
  );
  const [action, setAction] = useState<string>('install');
  const [targetType, setTargetType] = useState<string>('group');
  const [target, setTarget] = useState('');
  const [when, setWhen] = useState('');
  const outcome = useAction();
  const choices =
    targetType === 'group'
      ? (groups.data?.deviceGroups ?? []).map((g) => ({ value: g.id, label: g.name }))
      : (devices.data?.devices ?? []).map((d) => ({ value: d.id, label: `${d.name} (${d.id})` }));
  const chosen = choices.some((c) => c.value === target) ? target : (choices[0]?.value ?? '');
  const at = when ? new Date(when).getTime() : undefined;

  const submit = (e: Event) => {
    e.preventDefault();
    if (at !== undefined && !Number.isFinite(at)) return outcome.fail('The scheduled time is not a date.');
    void outcome.run(async () => {
      const s = await session.dmAt<Subscription>(
        endpoints.storeSubscribe,
        { uuid: release.uuid, targetType, action },
        [chosen],
        at !== undefined ? { timestamp: at } : {},
      );
      props.onDone();
      return s.state === 'SCHEDULED' ? `Scheduled ${action} of ${title} for ${formatTime(s.scheduledAt)}` : `${action} of ${title} sent`;
    });
  };
  return (
    <form class="release" aria-label={`Install ${title}`} onSubmit={(e) => void submit(e)}>
      <h3>
        {title} <code>{release.packageName}</code>
      </h3>
      <div class="filters">
        <Select label="Action" value={action} onChange={setAction} options={subscriptionActions} />
        <Select
          label="Target"
          value={targetType}
          onChange={setTargetType}
          options={[
            { value: 'group', label: 'A group' },
            { value: 'devices', label: 'A device' },
          ]}
        />
        <Select label={targetType === 'group' ? 'Group' : 'Device'} value={chosen} onChange={setTarget} options={choices} />
        <Field label="Scheduled for (empty: now)" type="datetime-local" value={when} onInput={setWhen} />
        <button type="submit" class="primary" disabled={!chosen}>
          {when ? 'Schedule' : 'Send now'}
        </button>
      </div>
      <ErrorText text={groups.error || devices.error} />
      <Outcome of={outcome} />
    </form>
  );
}

function DeviceResults({ session, release, title }: { session: Session; release: Release; title: string }): JSX.Element {
  const list = useLoad(
    () =>
      session.dmAt<{ devices: DeviceApp[]; count: number }>(endpoints.storeSubscriptionDevices, { uuid: release.uuid }, undefined, {
        limit: 100,
      }),
    [session, release.uuid],
  );
  return (
    <Section title={`Devices of ${title}`}>
      <ErrorText text={list.error} />
      <button type="button" onClick={list.reload}>
        Refresh
      </button>
      <table>
        <caption class="sr-only">Install status per device</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Type</th>
            <th scope="col">Version</th>
            <th scope="col">Status</th>
            <th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.devices ?? []).map((d) => (
            <tr key={`${d.deviceType}/${d.deviceIdentifier}`}>
              <td>
                <code>{d.deviceIdentifier}</code>
              </td>
              <td>{d.deviceType}</td>
              <td>{d.version}</td>
              <td data-testid="device-app-status">{d.status}</td>
              <td>{formatTime(d.updatedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.count === 0 && <p class="hint">No device has this release yet.</p>}
    </Section>
  );
}
