import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { DeviceType, DmDevice } from '../api/dm-types.js';
import type { Session } from '../api/session.js';
import { href } from '../router.js';
import { Confirm, ErrorText, Section, Select, Status, describe, formatTime, useLoad } from '../ui.js';

interface Operation {
  id: string;
  activityId: string | null;
  code: string;
  status: string;
  createdTimeStamp: number;
  receivedTimeStamp: number | null;
}

/** The three everyday operations, by the codes the device types name them with (docs/DEVICE-MANAGEMENT.md). */
const ACTIONS = [
  { label: 'Lock', code: 'DEVICE_LOCK', warning: 'The device locks its screen now.' },
  { label: 'Info', code: 'DEVICE_INFO', warning: 'The device reports its hardware and software information.' },
  { label: 'Wipe', code: 'WIPE_DATA', warning: 'The device erases all its data and settings. This cannot be undone.' },
] as const;

const path = (template: string, params: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? ''));

/**
 * Devices of every type in one list, their operations, lock / info / wipe with confirmation, from
 * the device-management core (docs/DEVICE-MANAGEMENT.md). Its OAuth2 clients are the
 * hub's applications, so the logged-in key and secret get the bearer token (docs/CONSOLE.md).
 */
export function DeviceManagement({ session }: { session: Session }): JSX.Element {
  const [type, setType] = useState('');
  const [asking, setAsking] = useState<{ device: DmDevice; action: (typeof ACTIONS)[number] } | null>(null);
  const [shown, setShown] = useState<DmDevice | null>(null);
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const types = useLoad(() => session.dm<DeviceType[]>('GET', endpoints.mdmDeviceTypes.path), [session]);
  const devices = useLoad(
    () =>
      session.dm<{ devices: DmDevice[]; count: number }>(
        'GET',
        `${endpoints.mdmDevices.path}?limit=100${type ? `&type=${encodeURIComponent(type)}` : ''}`,
      ),
    [session, type],
  );
  const supports = (d: DmDevice, code: string) =>
    types.data?.find((t) => t.name === d.type)?.features.some((f) => f.code === code) ?? false;

  const run = async (ok: boolean) => {
    const a = asking;
    setAsking(null);
    if (!ok || !a) return;
    setError('');
    try {
      const r = await session.dm<{ activityId?: string }>('POST', path(endpoints.mdmOperationAdd.path, { type: a.device.type }), {
        deviceIdentifiers: [a.device.id],
        operation: { code: a.action.code },
      });
      setMessage(`${a.action.label} sent to ${a.device.name}${r.activityId ? ` (activity ${r.activityId})` : ''}`);
      setShown(a.device);
    } catch (err) {
      setError(describe(err));
    }
  };

  return (
    <>
      <h1>Device management</h1>
      <Section title="Devices of every type">
        <div class="filters">
          <Select
            label="Device type"
            value={type}
            onChange={setType}
            options={[{ value: '', label: 'All types' }, ...(types.data ?? []).map((t) => ({ value: t.name, label: t.name }))]}
          />
        </div>
        {message && <Status text={message} />}
        <ErrorText text={devices.error || types.error || error} />
        <table>
          <caption class="sr-only">Managed devices</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Identifier</th>
              <th scope="col">Status</th>
              <th scope="col">Last update</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {(devices.data?.devices ?? []).map((d) => (
              <tr key={`${d.type}/${d.id}`} data-device-id={d.id}>
                <td>{d.name}</td>
                <td>{d.type}</td>
                <td>
                  <code>{d.id}</code>
                </td>
                <td>{d.enrolmentInfo.status}</td>
                <td>{formatTime(d.enrolmentInfo.dateOfLastUpdate)}</td>
                <td class="row-actions">
                  {ACTIONS.filter((a) => supports(d, a.code)).map((a) => (
                    <button
                      key={a.code}
                      type="button"
                      class={a.code === 'WIPE_DATA' ? 'danger' : ''}
                      aria-label={`${a.label} ${d.name}`}
                      onClick={() => setAsking({ device: d, action: a })}
                    >
                      {a.label}
                    </button>
                  ))}
                  <button type="button" aria-label={`Operations of ${d.name}`} onClick={() => setShown(d)}>
                    Operations
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <p class="hint">{devices.data ? `${devices.data.count} devices` : ''}</p>
      </Section>
      {shown && <Operations key={`${shown.type}/${shown.id}/${message}`} session={session} device={shown} />}
      <p>
        Groups, policies and apps: <a href={href('groups')}>Groups</a> · <a href={href('policies')}>Policies</a> ·{' '}
        <a href={href('app-publisher')}>App publisher</a> · <a href={href('app-store')}>App store</a>
      </p>
      <Confirm
        open={asking !== null}
        title={`${asking?.action.label ?? ''} ${asking?.device.name ?? ''}?`}
        confirmLabel={asking?.action.label ?? 'Send'}
        onClose={(ok) => void run(ok)}
      >
        <p>{asking?.action.warning}</p>
      </Confirm>
    </>
  );
}

function Operations({ session, device }: { session: Session; device: DmDevice }): JSX.Element {
  const ops = useLoad(
    () =>
      session.dm<{ operations: Operation[]; count: number }>(
        'GET',
        `${path(endpoints.mdmOperations.path, { type: device.type, id: device.id })}?limit=20`,
      ),
    [session, device.type, device.id],
  );
  // Operations still on their way are read again until the device answers (or the hub gives up).
  const waiting = (ops.data?.operations ?? []).some((o) => o.status === 'PENDING' || o.status === 'IN_PROGRESS');
  useEffect(() => {
    if (!waiting) return;
    const t = setTimeout(ops.reload, 1500);
    return () => clearTimeout(t);
  }, [waiting, ops.data]);
  return (
    <Section title={`Operations of ${device.name}`}>
      <ErrorText text={ops.error} />
      <table>
        <caption class="sr-only">Operations</caption>
        <thead>
          <tr>
            <th scope="col">Operation</th>
            <th scope="col">Status</th>
            <th scope="col">Activity</th>
            <th scope="col">Created</th>
            <th scope="col">Answered</th>
          </tr>
        </thead>
        <tbody>
          {(ops.data?.operations ?? []).map((o) => (
            <tr key={o.id}>
              <td>{o.code}</td>
              <td data-testid="operation-status">{o.status}</td>
              <td>
                <code>{o.activityId ?? ''}</code>
              </td>
              <td>{formatTime(o.createdTimeStamp)}</td>
              <td>{formatTime(o.receivedTimeStamp ?? undefined)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
