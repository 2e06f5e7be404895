import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import {
  complianceModes,
  complianceStatuses,
  ownershipTypes,
  type ComplianceRecord,
  type DeviceType,
  type DmDevice,
  type Group,
  type Policy,
} from '../api/dm-types.js';
import type { Session } from '../api/session.js';
import { href } from '../router.js';
import { ErrorText, Field, Outcome, Section, Select, Status, describe, formatTime, useAction, useLoad } from '../ui.js';

/** Device types that take policies (docs/DEVICE-MANAGEMENT.md, "Policies"). */
const POLICY_TYPES = ['android', 'ios', 'windows'];

/**
 * Policies and compliance (docs/DEVICE-MANAGEMENT.md, "Policies"): create and edit a policy's
 * profile, assign it to groups and devices, activate it, apply the changes, and read each device's
 * compliance.
 */
export function Policies({ session, selected }: { session: Session; selected: string | undefined }): JSX.Element {
  const policies = useLoad(
    () => session.dmAt<{ policies: Policy[]; count: number }>(endpoints.mdmPolicies, {}, undefined, { limit: 100 }),
    [session],
  );
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const chosen = policies.data?.policies.find((p) => p.id === selected);

  const act = async (label: string, run: () => Promise<unknown>) => {
    setError('');
    setMessage('');
    try {
      await run();
      setMessage(label);
      policies.reload();
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <>
      <h1>Policies</h1>
      <Section title="All policies">
        <ErrorText text={policies.error || error} />
        {message && <Status text={message} />}
        <table>
          <caption class="sr-only">Policies</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Device type</th>
              <th scope="col">Compliance</th>
              <th scope="col">State</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(policies.data?.policies ?? []).map((p) => (
              <tr key={p.id} data-policy-id={p.id}>
                <td>
                  <a href={href('policies', p.id)}>{p.policyName}</a>
                </td>
                <td>{p.profile.deviceType}</td>
                <td>{p.compliance}</td>
                <td data-testid="policy-state">
                  {p.active ? 'active' : 'inactive'}
                  {p.updated ? ', changes not applied' : p.published ? `, applied (version ${p.published.version})` : ''}
                </td>
                <td>
                  <button
                    type="button"
                    aria-label={`${p.active ? 'Deactivate' : 'Activate'} ${p.policyName}`}
                    onClick={() =>
                      void act(`${p.policyName} ${p.active ? 'deactivated' : 'activated'}`, () =>
                        session.dmAt(p.active ? endpoints.mdmPolicyDeactivate : endpoints.mdmPolicyActivate, {}, [p.id]),
                      )
                    }
                  >
                    {p.active ? 'Deactivate' : 'Activate'}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {policies.data?.count === 0 && <p>No policies yet.</p>}
        <p>
          <button
            type="button"
            class="primary"
            onClick={() => void act('Changes applied: devices receive their policies', () => session.dmAt(endpoints.mdmPolicyApply))}
          >
            Apply changes
          </button>
        </p>
      </Section>
      {selected && !chosen && policies.data && <ErrorText text={`Policy ${selected} not found`} />}
      <PolicyForm key={chosen?.id ?? 'new'} session={session} policy={chosen} onSaved={policies.reload} />
      <Compliance session={session} />
    </>
  );
}

interface FeatureRow {
  featureCode: string;
  content: string;
}

function PolicyForm({ session, policy, onSaved }: { session: Session; policy: Policy | undefined; onSaved: () => void }): JSX.Element {
  const types = useLoad(() => session.dmAt<DeviceType[]>(endpoints.mdmDeviceTypes), [session]);
  const groups = useLoad(() => session.dmAt<{ deviceGroups: Group[] }>(endpoints.mdmGroups, {}, undefined, { limit: 100 }), [session]);
  const [name, setName] = useState(policy?.policyName ?? '');
  const [description, setDescription] = useState(policy?.description ?? '');
  const [deviceType, setDeviceType] = useState(policy?.profile.deviceType ?? 'android');
  const [compliance, setCompliance] = useState<string>(policy?.compliance ?? 'ENFORCE');
  const [ownership, setOwnership] = useState<string>(policy?.ownershipType ?? 'ANY');
  const [features, setFeatures] = useState<FeatureRow[]>(
    policy?.profile.profileFeaturesList.map((f) => ({ featureCode: f.featureCode, content: JSON.stringify(f.content ?? {}) })) ?? [],
  );
  const [assignedGroups, setAssignedGroups] = useState<string[]>(policy?.deviceGroups ?? []);
  const [devicesText, setDevicesText] = useState((policy?.deviceIdentifiers ?? []).join(', '));
  const action = useAction();
  const devices = useLoad(
    () => session.dmAt<{ devices: DmDevice[] }>(endpoints.mdmDevices, {}, undefined, { type: deviceType, limit: 100 }),
    [session, deviceType],
  );
  const featureList = types.data?.find((t) => t.name === deviceType)?.features ?? [];

  const contentProblem = (text: string): string => {
    if (text.trim() === '') return '';
    try {
      const v = JSON.parse(text) as unknown;
      return typeof v === 'object' && v !== null && !Array.isArray(v) ? '' : 'a JSON object';
    } catch {
      return 'not JSON';
    }
  };
  const problems = features.map((f) => contentProblem(f.content));
  const ready = name.trim() !== '' && features.length > 0 && features.every((f) => f.featureCode) && problems.every((p) => !p);

  const submit = (e: Event) => {
    e.preventDefault();
    const body = {
      policyName: name.trim(),
      description: description.trim(),
      compliance,
      ownershipType: ownership,
      profile: {
        deviceType,
        profileFeaturesList: features.map((f) => ({
          featureCode: f.featureCode,
          content: f.content.trim() ? (JSON.parse(f.content) as Record<string, unknown>) : {},
        })),
      },
      deviceGroups: assignedGroups,
      deviceIdentifiers: devicesText
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean),
    };
    void action.run(async () => {
      const saved = policy
        ? await session.dmAt<Policy>(endpoints.mdmPolicyUpdate, { policyId: policy.id }, body)
        : await session.dmAt<Policy>(endpoints.mdmPolicyCreate, {}, body);
      onSaved();
      return `${policy ? 'Saved' : 'Created'} policy ${saved.policyName}`;
    });
  };

  return (
    <Section title={policy ? `Edit policy ${policy.policyName}` : 'New policy'}>
      {policy && (
        <p>
          <a href={href('policies')}>New policy</a>
        </p>
      )}
      <form aria-label={policy ? 'Edit policy' : 'New policy'} onSubmit={(e) => void submit(e)}>
        <div class="two">
          <div>
            <Field label="Policy name" value={name} onInput={setName} required />
            <Field label="Description" value={description} onInput={setDescription} />
            <Select
              label="Device type"
              value={deviceType}
              onChange={(t) => {
                setDeviceType(t);
                setFeatures([]);
              }}
              options={POLICY_TYPES}
            />
            <Select label="Compliance mode" value={compliance} onChange={setCompliance} options={complianceModes} />
            <Select label="Ownership" value={ownership} onChange={setOwnership} options={ownershipTypes} />
          </div>
          <fieldset>
            <legend>Assigned to</legend>
            {(groups.data?.deviceGroups ?? []).length === 0 && <p class="hint">No groups yet.</p>}
            {(groups.data?.deviceGroups ?? []).map((g) => (
              <label key={g.id} class="check">
                <input
                  type="checkbox"
                  checked={assignedGroups.includes(g.id)}
                  onChange={(e) =>
                    setAssignedGroups((list) => (e.currentTarget.checked ? [...list, g.id] : list.filter((x) => x !== g.id)))
                  }
                />
                Group {g.name}
              </label>
            ))}
            <Field
              label="Device identifiers"
              value={devicesText}
              onInput={setDevicesText}
              hint={`Separated by commas. ${deviceType} devices: ${(devices.data?.devices ?? []).map((d) => d.id).join(', ') || 'none'}`}
            />
          </fieldset>
        </div>
        <fieldset>
          <legend>Profile features</legend>
          {features.map((f, i) => (
            <div class="feature-row" key={i}>
              <Select
                label={`Feature ${i + 1}`}
                value={f.featureCode}
                onChange={(v) => setFeatures((list) => list.map((x, j) => (j === i ? { ...x, featureCode: v } : x)))}
                options={[
                  { value: '', label: 'Choose a feature' },
                  ...featureList.map((x) => ({ value: x.code, label: `${x.code} (${x.name})` })),
                ]}
              />
              <Field
                label={`Settings of feature ${i + 1} (JSON object)`}
                value={f.content}
                onInput={(v) => setFeatures((list) => list.map((x, j) => (j === i ? { ...x, content: v } : x)))}
                hint={problems[i] ? `Settings: ${problems[i]}` : undefined}
              />
              <button
                type="button"
                aria-label={`Remove feature ${i + 1}`}
                onClick={() => setFeatures((list) => list.filter((_, j) => j !== i))}
              >
                Remove
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setFeatures((list) => [...list, { featureCode: '', content: '{}' }])}>
            Add feature
          </button>
        </fieldset>
        <ErrorText text={types.error} />
        <Outcome of={action} />
        <button type="submit" class="primary" disabled={!ready}>
          {policy ? 'Save policy' : 'Create policy'}
        </button>
      </form>
    </Section>
  );
}

function Compliance({ session }: { session: Session }): JSX.Element {
  const [status, setStatus] = useState<string>('NON_COMPLIANT');
  const [shown, setShown] = useState<ComplianceRecord | null>(null);
  const list = useLoad(
    () => session.dmAt<{ devices: ComplianceRecord[]; count: number }>(endpoints.mdmComplianceList, { status }, undefined, { limit: 100 }),
    [session, status],
  );
  const [error, setError] = useState('');
  const open = async (r: ComplianceRecord) => {
    setError('');
    try {
      setShown(await session.dmAt<ComplianceRecord>(endpoints.mdmCompliance, { type: r.deviceType, id: r.deviceIdentifier }));
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Section title="Compliance">
      <div class="filters">
        <Select label="Compliance status" value={status} onChange={setStatus} options={complianceStatuses} />
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </div>
      <ErrorText text={list.error || error} />
      <table>
        <caption class="sr-only">Devices by compliance</caption>
        <thead>
          <tr>
            <th scope="col">Device</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Policy version</th>
            <th scope="col">Applied</th>
          </tr>
        </thead>
        <tbody>
          {(list.data?.devices ?? []).map((r) => (
            <tr key={`${r.deviceType}/${r.deviceIdentifier}`}>
              <td>
                <button type="button" class="link" onClick={() => void open(r)}>
                  {r.deviceIdentifier}
                </button>
              </td>
              <td>{r.deviceType}</td>
              <td>{r.status}</td>
              <td>{r.policyVersion}</td>
              <td>{formatTime(r.appliedAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {list.data?.count === 0 && <p class="hint">No devices with this status.</p>}
      {shown && (
        <section aria-label={`Compliance of ${shown.deviceIdentifier}`}>
          <h3>
            Compliance of {shown.deviceIdentifier}: {shown.status}
          </h3>
          <ul>
            {shown.features.map((f) => (
              <li key={f.featureCode}>
                {f.featureCode}: {f.compliance ? 'compliant' : 'not compliant'}
                {f.message ? ` (${f.message})` : ''}
              </li>
            ))}
          </ul>
          {shown.features.length === 0 && <p class="hint">No feature reported yet.</p>}
        </section>
      )}
    </Section>
  );
}
