import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import { openStream } from '../api/sse.js';
import type { Device, Product } from '../api/types.js';
import { href } from '../router.js';
import { ErrorText, Section, formatTime, show, useLoad } from '../ui.js';
import { DeviceCommands } from './device-commands.js';
import { DeviceHistory } from './device-history.js';
import { DeviceEvents, type DeviceEvent } from './device-events.js';

interface Latest {
  assetId: string;
  measurepoints: Record<string, { value: unknown; time: number }>;
}

/** One device: status, attributes, tags, live measurepoints, history and commands (docs/CONSOLE.md). */
export function DeviceDetail({ session, assetId }: { session: Session; assetId: string }): JSX.Element {
  const loaded = useLoad(async () => {
    const device = (await session.call<Device>(endpoints.deviceGet, { assetId })).data;
    const product = (await session.call<Product>(endpoints.productGet, { productKey: device.productKey })).data;
    return { device, product };
  }, [session, assetId]);
  const [status, setStatus] = useState<string | undefined>();
  const [values, setValues] = useState<Record<string, { value: unknown; time: number }>>({});
  const [streaming, setStreaming] = useState(false);
  // Numeric values seen on the stream, per measurepoint: the history chart extends its line with them.
  const [live, setLive] = useState<Record<string, { time: number; value: number }[]>>({});
  const [events, setEvents] = useState<DeviceEvent[]>([]);
  const device = loaded.data?.device;

  useEffect(() => {
    if (!device) return;
    setStatus(device.status);
    let active = true;
    session.call<Latest[]>(endpoints.queryLatest, {}, { assetIds: [assetId] }).then(
      (r) => active && setValues((v) => ({ ...(r.data[0]?.measurepoints ?? {}), ...v })),
      () => undefined,
    );
    const close = openStream(
      session,
      { productKey: device.productKey, deviceKey: device.deviceKey, types: 'measurepoints,lifecycle,event' },
      (e) => {
        if (e.type === 'measurepoints') {
          setValues((v) => {
            const next = { ...v };
            for (const [id, m] of Object.entries(e.measurepoints))
              if (!next[id] || next[id].time <= e.time) next[id] = { value: m.value, time: e.time };
            return next;
          });
          setLive((l) => {
            const next = { ...l };
            for (const [id, m] of Object.entries(e.measurepoints))
              if (typeof m.value === 'number') next[id] = [...(next[id] ?? []).slice(-499), { time: e.time, value: m.value }];
            return next;
          });
        } else if (e.type === 'event') {
          setEvents((list) => [{ time: e.time, eventId: e.eventId, values: e.values }, ...list].slice(0, 200));
        } else if (e.type === 'lifecycle') setStatus(e.status === 'activated' ? 'online' : e.status);
      },
      setStreaming,
    );
    return () => {
      active = false;
      close();
    };
  }, [session, assetId, device]);

  if (loaded.error) return <ErrorText text={loaded.error} />;
  if (!loaded.data || !device) return <p role="status">Loading…</p>;
  const model = loaded.data.product.thingModel ?? {};
  const ids = [...new Set([...Object.keys(model.measurepoints ?? {}), ...Object.keys(values)])];

  return (
    <>
      <h1>{device.deviceName.defaultValue}</h1>
      <p>
        <a href={href('devices')}>All devices</a> · product{' '}
        <a href={href('products', device.productKey)}>{loaded.data.product.productName.defaultValue}</a>
      </p>
      <Section title="Status">
        <dl class="facts">
          <dt>Status</dt>
          <dd>
            <span class={`badge ${status ?? ''}`} data-testid="device-status">
              {status}
            </span>
          </dd>
          <dt>Device key</dt>
          <dd>
            <code>{device.deviceKey}</code>
          </dd>
          <dt>Product key</dt>
          <dd>
            <code>{device.productKey}</code>
          </dd>
          <dt>Asset ID</dt>
          <dd>
            <code>{device.assetId}</code>
          </dd>
          <dt>Time zone</dt>
          <dd>{device.timezone}</dd>
          <dt>Created</dt>
          <dd>{formatTime(device.createTime)}</dd>
          {device.gatewayAssetId && (
            <>
              <dt>Gateway</dt>
              <dd>
                <a href={href('devices', device.gatewayAssetId)}>{device.gatewayAssetId}</a>
              </dd>
            </>
          )}
        </dl>
      </Section>
      <Section title="Attributes and tags">
        <table>
          <caption class="sr-only">Attributes and tags</caption>
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Key</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {Object.entries(device.deviceAttributes ?? {}).map(([k, v]) => (
              <tr key={`a-${k}`}>
                <td>attribute</td>
                <td>{k}</td>
                <td>{show(v)}</td>
              </tr>
            ))}
            {Object.entries(device.deviceTags ?? {}).map(([k, v]) => (
              <tr key={`t-${k}`}>
                <td>tag</td>
                <td>{k}</td>
                <td>{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Live measurepoints">
        <p class="hint" role="status">
          {streaming ? 'Live: values appear as the device sends them.' : 'Connecting to the event stream…'}
        </p>
        <table>
          <caption class="sr-only">Latest value of each measurepoint</caption>
          <thead>
            <tr>
              <th scope="col">Measurepoint</th>
              <th scope="col">Value</th>
              <th scope="col">Unit</th>
              <th scope="col">Time</th>
            </tr>
          </thead>
          <tbody>
            {ids.map((id) => (
              <tr key={id} data-measurepoint={id}>
                <td>{model.measurepoints?.[id]?.name ?? id}</td>
                <td class="value">{values[id] ? show(values[id].value) : '—'}</td>
                <td>{model.measurepoints?.[id]?.unit ?? ''}</td>
                <td>{formatTime(values[id]?.time)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <DeviceHistory session={session} assetId={assetId} model={model} live={live} />
      <DeviceEvents session={session} assetId={assetId} model={model} live={events} />
      <DeviceCommands session={session} device={device} model={model} />
    </>
  );
}
