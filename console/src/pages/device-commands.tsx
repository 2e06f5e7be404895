import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { Command, Device, FieldSpec, ThingModel } from '../api/types.js';
import { coerce } from '../model/thing-model-check.js';
import { ErrorText, Field, Section, Select, describe, formatTime, show, useLoad } from '../ui.js';

/** Statuses after which a command does not change any more (docs/PROTOCOL.md, commands). */
const FINAL = new Set(['replied', 'timeout', 'expired', 'cancelled', 'acknowledged', 'error', 'format-error', 'repeated']);

/**
 * Commands to one device: invokeService and setMeasurepoint forms built from the thing model, and
 * the device's commands with their status followed live (docs/CONSOLE.md).
 */
export function DeviceCommands({ session, device, model }: { session: Session; device: Device; model: ThingModel }): JSX.Element {
  const [tick, setTick] = useState(0);
  const list = useLoad(
    () =>
      session
        .call<Command[]>(
          endpoints.commandSearch,
          {},
          {
            expression: `assetId = '${device.assetId}'`,
            pagination: { pageNo: 1, pageSize: 20, sorters: [{ field: 'createdAt', order: 'DESC' }] },
          },
        )
        .then((r) => r.data),
    [session, device.assetId, tick],
  );
  const open = (list.data ?? []).some((c) => !FINAL.has(c.status));
  // Follow unfinished commands: the list refreshes each second until every status is final.
  useEffect(() => {
    if (!open) return;
    const t = setTimeout(() => setTick((n) => n + 1), 1000);
    return () => clearTimeout(t);
  }, [open, list.data]);
  const refresh = () => setTick((n) => n + 1);

  return (
    <Section title="Commands">
      <div class="two">
        <InvokeService session={session} device={device} model={model} onSent={refresh} />
        <SetMeasurepoint session={session} device={device} model={model} onSent={refresh} />
      </div>
      <ErrorText text={list.error} />
      <table class="commands">
        <caption>Recent commands</caption>
        <thead>
          <tr>
            <th scope="col">Command</th>
            <th scope="col">Parameters</th>
            <th scope="col">Status</th>
            <th scope="col">Reply</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {(list.data ?? []).map((c) => (
            <tr key={c.commandId} data-command-id={c.commandId}>
              <td>{c.kind === 'invokeService' ? c.serviceId : `set ${c.measurepointId ?? ''}`}</td>
              <td>
                <code>{show(c.kind === 'invokeService' ? c.inputData : c.value)}</code>
              </td>
              <td>
                <span class={`badge ${c.status}`} data-testid="command-status">
                  {c.status}
                </span>
              </td>
              <td>{c.reply ? <code>{show(c.reply.outputData ?? c.reply.message)}</code> : ''}</td>
              <td>{formatTime(c.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}

interface FormProps {
  session: Session;
  device: Device;
  model: ThingModel;
  onSent: () => void;
}

/** Instant (wait for the reply) or cached for a while when the device is offline. */
function Delivery({ value, onChange }: { value: string; onChange: (v: string) => void }): JSX.Element {
  return (
    <Select
      label="Delivery"
      value={value}
      onChange={onChange}
      options={[
        { value: '0', label: 'Now (device online)' },
        { value: '600', label: 'Queue for 10 minutes' },
        { value: '86400', label: 'Queue for a day' },
      ]}
    />
  );
}

function InvokeService({ session, device, model, onSent }: FormProps): JSX.Element {
  const services = Object.keys(model.services ?? {});
  const [serviceId, setServiceId] = useState(services[0] ?? '');
  const [inputs, setInputs] = useState<Record<string, string>>({});
  const [ttl, setTtl] = useState('0');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const spec = model.services?.[serviceId]?.inputData ?? {};

  const send = async (e: Event) => {
    e.preventDefault();
    setError('');
    const inputData: Record<string, unknown> = {};
    for (const [id, s] of Object.entries(spec)) {
      const text = inputs[id] ?? '';
      if (text.trim() === '' && !s.required) continue;
      const v = coerce(s, text);
      if (v instanceof Error) return setError(`${s.name ?? id}: ${v.message}`);
      inputData[id] = v;
    }
    setBusy(true);
    const sending = session.call(
      endpoints.invokeService,
      { assetId: device.assetId, serviceId, pendingTtl: ttl === '0' ? undefined : ttl },
      { inputData },
    );
    // The list shows the command as soon as the hub has it, while an instant call waits for the reply.
    setTimeout(onSent, 300);
    try {
      await sending;
    } catch (err) {
      setError(describe(err));
    } finally {
      setBusy(false);
      onSent();
    }
  };
  if (services.length === 0) return <p>The thing model has no services.</p>;
  return (
    <form onSubmit={(e) => void send(e)} aria-label="Invoke a service">
      <h3>Invoke a service</h3>
      <Select
        label="Service"
        value={serviceId}
        onChange={(v) => {
          setServiceId(v);
          setInputs({});
        }}
        options={services.map((s) => ({ value: s, label: model.services?.[s]?.name ? `${model.services[s]?.name} (${s})` : s }))}
      />
      {Object.entries(spec).map(([id, s]) => (
        <InputFor
          key={`${serviceId}.${id}`}
          id={id}
          spec={s}
          value={inputs[id] ?? ''}
          onInput={(v) => setInputs((x) => ({ ...x, [id]: v }))}
        />
      ))}
      <Delivery value={ttl} onChange={setTtl} />
      <ErrorText text={error} />
      <button type="submit" class="primary" disabled={busy}>
        {busy ? 'Waiting for the reply…' : 'Send command'}
      </button>
    </form>
  );
}

function SetMeasurepoint({ session, device, model, onSent }: FormProps): JSX.Element {
  const ids = Object.keys(model.measurepoints ?? {});
  const [id, setId] = useState(ids[0] ?? '');
  const [value, setValue] = useState('');
  const [ttl, setTtl] = useState('0');
  const [error, setError] = useState('');
  const spec = model.measurepoints?.[id];
  const send = async (e: Event) => {
    e.preventDefault();
    setError('');
    if (!spec) return;
    const v = coerce(spec, value);
    if (v instanceof Error) return setError(`${spec.name ?? id}: ${v.message}`);
    const sending = session.call(
      endpoints.setMeasurepoint,
      { assetId: device.assetId, measurepointId: id, pendingTtl: ttl === '0' ? undefined : ttl },
      { value: v },
    );
    setTimeout(onSent, 300);
    try {
      await sending;
    } catch (err) {
      setError(describe(err));
    } finally {
      onSent();
    }
  };
  if (ids.length === 0) return <p>The thing model has no measurepoints.</p>;
  return (
    <form onSubmit={(e) => void send(e)} aria-label="Set a measurepoint">
      <h3>Set a measurepoint</h3>
      <Select label="Measurepoint" value={id} onChange={setId} options={ids} />
      {spec && <InputFor id="value" spec={{ ...spec, name: 'Value' }} value={value} onInput={setValue} />}
      <Delivery value={ttl} onChange={setTtl} />
      <ErrorText text={error} />
      <button type="submit" class="primary">
        Set value
      </button>
    </form>
  );
}

/** The form control a thing-model data type calls for. */
function InputFor(props: { id: string; spec: FieldSpec; value: string; onInput: (v: string) => void }): JSX.Element {
  const { spec } = props;
  const label = `${spec.name ?? props.id}${spec.unit ? ` (${spec.unit})` : ''}`;
  if (spec.dataType === 'ENUM')
    return <Select label={label} value={props.value} onChange={props.onInput} options={['', ...(spec.enumValues ?? []).map(String)]} />;
  if (spec.dataType === 'BOOL')
    return <Select label={label} value={props.value} onChange={props.onInput} options={['', 'true', 'false']} />;
  return (
    <Field
      label={label}
      value={props.value}
      onInput={props.onInput}
      required={spec.required ?? false}
      hint={spec.dataType === 'ARRAY' || spec.dataType === 'STRUCT' ? `${spec.dataType} as JSON` : spec.dataType}
    />
  );
}
