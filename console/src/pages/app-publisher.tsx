import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import { appPlatforms, type App, type LifecycleState, type Release } from '../api/dm-types.js';
import type { Session } from '../api/session.js';
import { href } from '../router.js';
import { ErrorText, Field, Outcome, Section, Select, formatTime, useAction, useId, useLoad } from '../ui.js';

/**
 * The app publisher (docs/DEVICE-MANAGEMENT.md, "Applications"): enterprise apps, a release per
 * platform with its uploaded artifact, and the release's life cycle (review, publish, deprecate,
 * retire), each move offered only where the hub's life cycle allows it.
 */
export function AppPublisher({ session, selected }: { session: Session; selected: string | undefined }): JSX.Element {
  const apps = useLoad(
    () => session.dmAt<{ applications: App[]; count: number }>(endpoints.pubApps, {}, undefined, { limit: 100 }),
    [session],
  );
  return (
    <>
      <h1>App publisher</h1>
      <Section title="Enterprise apps">
        <ErrorText text={apps.error} />
        {apps.data?.count === 0 && <p>No apps yet.</p>}
        <table>
          <caption class="sr-only">Enterprise apps</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Category</th>
              <th scope="col">Platforms</th>
              <th scope="col">In the store</th>
            </tr>
          </thead>
          <tbody>
            {(apps.data?.applications ?? []).map((a) => (
              <tr key={a.id}>
                <td>
                  <a href={href('app-publisher', a.id)}>{a.name}</a>
                </td>
                <td>{a.category ?? ''}</td>
                <td>{a.platforms.join(', ')}</td>
                <td>{a.published ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {selected ? (
        <AppReleases key={selected} session={session} appId={selected} onChange={apps.reload} />
      ) : (
        <NewApp session={session} onCreated={apps.reload} />
      )}
    </>
  );
}

function NewApp({ session, onCreated }: { session: Session; onCreated: () => void }): JSX.Element {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [category, setCategory] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const a = await session.dmAt<App>(
        endpoints.pubAppCreate,
        {},
        { name: name.trim(), description: description.trim(), ...(category.trim() ? { category: category.trim() } : {}) },
      );
      setName('');
      setDescription('');
      onCreated();
      return `Created app ${a.name}`;
    });
  };
  return (
    <Section title="New app">
      <form aria-label="New app" onSubmit={(e) => void submit(e)}>
        <Field label="App name" value={name} onInput={setName} required />
        <Field label="Description" value={description} onInput={setDescription} />
        <Field label="Category" value={category} onInput={setCategory} />
        <Outcome of={action} />
        <button type="submit" class="primary" disabled={name.trim() === ''}>
          Create app
        </button>
      </form>
    </Section>
  );
}

function AppReleases({ session, appId, onChange }: { session: Session; appId: string; onChange: () => void }): JSX.Element {
  const app = useLoad(() => session.dmAt<App>(endpoints.pubApp, { appId }), [session, appId]);
  const next = useLoad(() => session.dmAt<Record<LifecycleState, LifecycleState[]>>(endpoints.pubLifecycleConfig), [session]);
  const [platform, setPlatform] = useState<string>('android');
  const [packageName, setPackageName] = useState('');
  const [version, setVersion] = useState('');
  const action = useAction();
  const reload = () => {
    app.reload();
    onChange();
  };
  const addRelease = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const r = await session.dmAt<Release>(
        endpoints.pubReleaseCreate,
        { appId },
        { platform, packageName: packageName.trim(), version: version.trim() },
      );
      reload();
      return `Added release ${r.version} for ${r.platform}`;
    });
  };
  return (
    <>
      <Section title={`Releases of ${app.data?.name ?? appId}`}>
        <p>
          <a href={href('app-publisher')}>New app</a>
        </p>
        <ErrorText text={app.error || next.error} />
        {(app.data?.releases ?? []).length === 0 && <p class="hint">No release yet: add one below.</p>}
        {(app.data?.releases ?? []).map((r) => (
          <ReleaseCard key={r.uuid} session={session} release={r} next={next.data?.[r.state] ?? []} onChange={reload} />
        ))}
      </Section>
      <Section title="New release">
        <form aria-label="New release" onSubmit={(e) => void addRelease(e)}>
          <Select label="Platform" value={platform} onChange={setPlatform} options={appPlatforms} />
          <Field
            label="Package name"
            value={packageName}
            onInput={setPackageName}
            hint="Android package or iOS bundle identifier, e.g. com.example.field"
            required
          />
          <Field label="Version" value={version} onInput={setVersion} required />
          <Outcome of={action} />
          <button type="submit" class="primary" disabled={!packageName.trim() || !version.trim()}>
            Add release
          </button>
        </form>
      </Section>
    </>
  );
}

const MOVE_LABEL: Record<LifecycleState, string> = {
  CREATED: 'Back to created',
  'IN-REVIEW': 'Send to review',
  APPROVED: 'Approve',
  REJECTED: 'Reject',
  PUBLISHED: 'Publish',
  DEPRECATED: 'Deprecate',
  RETIRED: 'Retire',
};

function ReleaseCard(props: { session: Session; release: Release; next: LifecycleState[]; onChange: () => void }): JSX.Element {
  const { session, release: r } = props;
  const fileId = useId('artifact');
  const [file, setFile] = useState<File | null>(null);
  const [reason, setReason] = useState('');
  const action = useAction();
  const run = (label: string, call: () => Promise<unknown>) =>
    action.run(async () => {
      await call();
      props.onChange();
      return label;
    });
  const title = `${r.platform} ${r.version}`;
  return (
    <section class="release" aria-label={`Release ${title}`} data-release={r.uuid}>
      <h3>
        Release {title}{' '}
        <span class="badge" data-testid="release-state">
          {r.state}
        </span>
      </h3>
      <dl class="facts">
        <dt>Package</dt>
        <dd>
          <code>{r.packageName}</code>
        </dd>
        <dt>Artifact</dt>
        <dd data-testid="release-artifact">
          {r.artifact
            ? `${r.artifact.fileName ?? r.artifact.url ?? ''}${r.artifact.size !== undefined ? ` (${r.artifact.size} bytes)` : ''}`
            : 'none yet'}
        </dd>
      </dl>
      <form
        class="filters"
        aria-label={`Upload the artifact of ${title}`}
        onSubmit={(e) => {
          e.preventDefault();
          if (file)
            void run(`Uploaded ${file.name}`, () =>
              session.dmUpload(endpoints.pubArtifact, { uuid: r.uuid }, file, { fileName: file.name }),
            );
        }}
      >
        <div class="field">
          <label for={fileId}>Artifact file (.apk or .ipa)</label>
          <input id={fileId} type="file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </div>
        <button type="submit" disabled={!file}>
          Upload
        </button>
      </form>
      {props.next.length > 0 && (
        <div class="filters">
          <Field label={`Reason for the change (${title})`} value={reason} onInput={setReason} />
          {props.next.map((to) => (
            <button
              key={to}
              type="button"
              class={to === 'RETIRED' || to === 'REJECTED' ? 'danger' : ''}
              onClick={() =>
                void run(`Release ${title} is ${to}`, () =>
                  session.dmAt(
                    endpoints.pubLifecycle,
                    { uuid: r.uuid },
                    { action: to, ...(reason.trim() ? { reason: reason.trim() } : {}) },
                  ),
                )
              }
            >
              {MOVE_LABEL[to]}
            </button>
          ))}
        </div>
      )}
      <Outcome of={action} />
      <details>
        <summary>Life cycle history</summary>
        <ol>
          {r.lifecycle.map((t, i) => (
            <li key={i}>
              {formatTime(t.at)}: {t.from ?? '—'} → {t.to} by {t.by}
              {t.reason ? ` (${t.reason})` : ''}
            </li>
          ))}
        </ol>
      </details>
    </section>
  );
}
