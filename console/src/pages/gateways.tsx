import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { Device } from '../api/types.js';
import { href } from '../router.js';
import { ErrorText, Section, useLoad } from '../ui.js';

/** Gateways and the sub-devices each one carries (docs/CONSOLE.md): a two-level tree. */
export function Gateways({ session }: { session: Session }): JSX.Element {
  const gateways = useLoad(
    () =>
      session
        .call<Device[]>(endpoints.deviceSearch, {}, { expression: "productType = 'Gateway'", pagination: { pageNo: 1, pageSize: 200 } })
        .then((r) => r.data),
    [session],
  );
  return (
    <>
      <h1>Gateways and sub-devices</h1>
      <Section title="Topology">
        <ErrorText text={gateways.error} />
        {gateways.data?.length === 0 && <p>No gateway devices in this organization.</p>}
        <ul class="tree" aria-label="Gateways">
          {(gateways.data ?? []).map((g) => (
            <GatewayNode key={g.assetId} session={session} gateway={g} />
          ))}
        </ul>
      </Section>
    </>
  );
}

function GatewayNode({ session, gateway }: { session: Session; gateway: Device }): JSX.Element {
  const [open, setOpen] = useState(false);
  const subs = useLoad(
    () =>
      open
        ? session
            .call<Device[]>(endpoints.subDevices, {}, { gateway: { assetId: gateway.assetId }, pagination: { pageNo: 1, pageSize: 200 } })
            .then((r) => r.data)
        : Promise.resolve(undefined),
    [session, gateway.assetId, open],
  );
  return (
    <li>
      <button type="button" aria-expanded={open} onClick={() => setOpen(!open)} class="link">
        {open ? '▾' : '▸'} {gateway.deviceName.defaultValue}
      </button>{' '}
      <span class={`badge ${gateway.status ?? ''}`}>{gateway.status}</span> · <a href={href('devices', gateway.assetId)}>details</a>
      {open && (
        <>
          <ErrorText text={subs.error} />
          <ul>
            {subs.data?.length === 0 && <li>No sub-devices</li>}
            {(subs.data ?? []).map((d) => (
              <li key={d.assetId}>
                <a href={href('devices', d.assetId)}>{d.deviceName.defaultValue}</a> <code>{d.deviceKey}</code>{' '}
                <span class={`badge ${d.status ?? ''}`}>{d.status}</span>
              </li>
            ))}
          </ul>
        </>
      )}
    </li>
  );
}
