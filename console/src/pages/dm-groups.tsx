import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { DmDevice, Group } from '../api/dm-types.js';
import type { Session } from '../api/session.js';
import { href } from '../router.js';
import { ErrorText, Field, Outcome, Section, Select, useAction, useLoad } from '../ui.js';

/**
 * Device groups (docs/DEVICE-MANAGEMENT.md, "Groups"): list, create, rename and re-describe, and
 * their members, which are devices of any type. Policies and app installs target them.
 */
export function Groups({ session, selected }: { session: Session; selected: string | undefined }): JSX.Element {
  const groups = useLoad(
    () => session.dmAt<{ deviceGroups: Group[]; count: number }>(endpoints.mdmGroups, {}, undefined, { limit: 100 }),
    [session],
  );
  const chosen = groups.data?.deviceGroups.find((g) => g.id === selected);
  return (
    <>
      <h1>Groups</h1>
      <Section title="Device groups">
        <ErrorText text={groups.error} />
        {groups.data?.count === 0 && <p>No groups yet.</p>}
        <table>
          <caption class="sr-only">Device groups</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
            </tr>
          </thead>
          <tbody>
            {(groups.data?.deviceGroups ?? []).map((g) => (
              <tr key={g.id}>
                <td>
                  <a href={href('groups', g.id)} aria-current={g.id === selected ? 'true' : undefined}>
                    {g.name}
                  </a>
                </td>
                <td>{g.description ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {chosen ? (
        <>
          <EditGroup key={chosen.id} session={session} group={chosen} onSaved={groups.reload} />
          <Members key={`m-${chosen.id}`} session={session} group={chosen} />
        </>
      ) : (
        <NewGroup session={session} onCreated={groups.reload} />
      )}
    </>
  );
}

function NewGroup({ session, onCreated }: { session: Session; onCreated: () => void }): JSX.Element {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const g = await session.dmAt<Group>(endpoints.mdmGroupCreate, {}, { name: name.trim(), description: description.trim() });
      setName('');
      setDescription('');
      onCreated();
      return `Created group ${g.name}`;
    });
  };
  return (
    <Section title="New group">
      <form aria-label="New group" onSubmit={submit}>
        <Field label="Group name" value={name} onInput={setName} required />
        <Field label="Description" value={description} onInput={setDescription} />
        <Outcome of={action} />
        <button type="submit" class="primary" disabled={name.trim() === ''}>
          Create group
        </button>
      </form>
    </Section>
  );
}

function EditGroup({ session, group, onSaved }: { session: Session; group: Group; onSaved: () => void }): JSX.Element {
  const [name, setName] = useState(group.name);
  const [description, setDescription] = useState(group.description ?? '');
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      await session.dmAt(endpoints.mdmGroupUpdate, { groupId: group.id }, { name: name.trim(), description: description.trim() });
      onSaved();
      return 'Group saved';
    });
  };
  return (
    <Section title={`Edit group ${group.name}`}>
      <p>
        <a href={href('groups')}>New group</a>
      </p>
      <form aria-label="Edit group" onSubmit={submit}>
        <Field label="Group name" value={name} onInput={setName} required />
        <Field label="Description" value={description} onInput={setDescription} />
        <Outcome of={action} />
        <button type="submit" class="primary" disabled={name.trim() === ''}>
          Save group
        </button>
      </form>
    </Section>
  );
}

function Members({ session, group }: { session: Session; group: Group }): JSX.Element {
  const members = useLoad(
    () => session.dmAt<{ devices: DmDevice[]; count: number }>(endpoints.mdmDevices, {}, undefined, { groupId: group.id, limit: 100 }),
    [session, group.id],
  );
  const all = useLoad(
    () => session.dmAt<{ devices: DmDevice[]; count: number }>(endpoints.mdmDevices, {}, undefined, { limit: 100 }),
    [session],
  );
  const outside = (all.data?.devices ?? []).filter(
    (d) => !d.groupIds.includes(group.id) && !members.data?.devices.some((m) => m.id === d.id),
  );
  const [pick, setPick] = useState('');
  const action = useAction();
  useEffect(() => {
    if (!outside.some((d) => key(d) === pick)) setPick(outside[0] ? key(outside[0]) : '');
  }, [outside.map(key).join(',')]);

  const change = (d: { id: string; type: string }, add: boolean) =>
    action.run(async () => {
      await session.dmAt(add ? endpoints.mdmGroupAdd : endpoints.mdmGroupRemove, { groupId: group.id }, [{ id: d.id, type: d.type }]);
      members.reload();
      all.reload();
      return `${add ? 'Added' : 'Removed'} ${d.id}`;
    });
  return (
    <Section title={`Members of ${group.name}`}>
      <ErrorText text={members.error || all.error} />
      <Outcome of={action} />
      <table>
        <caption class="sr-only">Members</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Type</th>
            <th scope="col">Identifier</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {(members.data?.devices ?? []).map((d) => (
            <tr key={key(d)}>
              <td>{d.name}</td>
              <td>{d.type}</td>
              <td>
                <code>{d.id}</code>
              </td>
              <td>
                <button type="button" aria-label={`Remove ${d.name} from the group`} onClick={() => void change(d, false)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {members.data?.count === 0 && <p class="hint">No devices in this group yet.</p>}
      <form
        class="filters"
        aria-label="Add a device to the group"
        onSubmit={(e) => {
          e.preventDefault();
          const d = outside.find((o) => key(o) === pick);
          if (d) void change(d, true);
        }}
      >
        <Select
          label="Device to add"
          value={pick}
          onChange={setPick}
          options={outside.map((d) => ({ value: key(d), label: `${d.name} (${d.type})` }))}
        />
        <button type="submit" disabled={!pick}>
          Add to group
        </button>
      </form>
    </Section>
  );
}

const key = (d: { type: string; id: string }) => `${d.type}/${d.id}`;
