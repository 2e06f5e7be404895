import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { Device, Product } from '../api/types.js';
import { href } from '../router.js';
import { ErrorText, Field, Pager, Section, Select, Status, describe, useLoad } from '../ui.js';
import { DeviceImport } from './device-import.js';

const PAGE_SIZE = 20;

/** Builds the search expression of docs/ENOS-PROTOCOL.md §7.1 from the filters and the free text. */
export function searchExpression(f: { productKey: string; status: string; namePrefix: string; expression: string }): string {
  const parts: string[] = [];
  const quote = (s: string) => `'${s.replace(/'/g, '')}'`;
  if (f.productKey) parts.push(`productKey = ${quote(f.productKey)}`);
  if (f.status) parts.push(`status = ${quote(f.status)}`);
  if (f.namePrefix.trim()) parts.push(`deviceName like ${quote(`${f.namePrefix.trim()}%`)}`);
  if (f.expression.trim()) parts.push(`(${f.expression.trim()})`);
  return parts.join(' and ');
}

export function Devices({ session }: { session: Session }): JSX.Element {
  const [filters, setFilters] = useState({ productKey: '', status: '', namePrefix: '', expression: '' });
  const [applied, setApplied] = useState(filters);
  const [pageNo, setPageNo] = useState(1);
  const products = useLoad(
    () => session.call<Product[]>(endpoints.productSearch, {}, { pagination: { pageNo: 1, pageSize: 200 } }).then((r) => r.data),
    [session],
  );
  const devices = useLoad(
    () =>
      session.call<Device[]>(
        endpoints.deviceSearch,
        {},
        {
          expression: searchExpression(applied),
          pagination: { pageNo, pageSize: PAGE_SIZE, sorters: [{ field: 'createTime', order: 'DESC' }] },
        },
      ),
    [session, applied, pageNo],
  );
  const productOptions = [
    { value: '', label: 'Any product' },
    ...(products.data ?? []).map((p) => ({ value: p.productKey, label: p.productName.defaultValue })),
  ];
  const set = (k: keyof typeof filters) => (v: string) => setFilters((f) => ({ ...f, [k]: v }));

  return (
    <>
      <h1>Devices</h1>
      <Section title="Search">
        <form
          class="filters"
          aria-label="Search devices"
          onSubmit={(e) => {
            e.preventDefault();
            setPageNo(1);
            setApplied(filters);
          }}
        >
          <Select label="Product" value={filters.productKey} onChange={set('productKey')} options={productOptions} />
          <Select
            label="Status"
            value={filters.status}
            onChange={set('status')}
            options={[{ value: '', label: 'Any status' }, 'online', 'offline', 'inactive', 'disabled']}
          />
          <Field label="Name starts with" value={filters.namePrefix} onInput={set('namePrefix')} />
          <Field label="Expression" value={filters.expression} onInput={set('expression')} hint="e.g. deviceTags.site = 'north'" />
          <button type="submit" class="primary">
            Search
          </button>
        </form>
      </Section>
      <Section title="Results">
        <ErrorText text={devices.error} />
        <table>
          <caption class="sr-only">Devices found</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Device key</th>
              <th scope="col">Product key</th>
              <th scope="col">Status</th>
              <th scope="col">Tags</th>
            </tr>
          </thead>
          <tbody>
            {(devices.data?.data ?? []).map((d) => (
              <tr key={d.assetId}>
                <td>
                  <a href={href('devices', d.assetId)}>{d.deviceName.defaultValue}</a>
                </td>
                <td>
                  <code>{d.deviceKey}</code>
                </td>
                <td>
                  <code>{d.productKey}</code>
                </td>
                <td>
                  <span class={`badge ${d.status ?? ''}`}>{d.status}</span>
                </td>
                <td>
                  {Object.entries(d.deviceTags ?? {})
                    .map(([k, v]) => `${k}=${v}`)
                    .join(', ')}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <Pager pageNo={pageNo} pageSize={PAGE_SIZE} total={devices.data?.pagination?.totalSize ?? 0} onPage={setPageNo} />
      </Section>
      <NewDevice session={session} products={products.data ?? []} onCreated={devices.reload} />
      <DeviceImport session={session} products={products.data ?? []} onDone={devices.reload} />
    </>
  );
}

function NewDevice({ session, products, onCreated }: { session: Session; products: Product[]; onCreated: () => void }): JSX.Element {
  const [productKey, setProductKey] = useState('');
  const [deviceKey, setDeviceKey] = useState('');
  const [name, setName] = useState('');
  const [timezone, setTimezone] = useState('+08:00');
  const [error, setError] = useState('');
  const [created, setCreated] = useState<{ assetId: string; deviceKey: string; deviceSecret: string } | null>(null);
  const pk = productKey || products[0]?.productKey || '';
  const submit = async (e: Event) => {
    e.preventDefault();
    setError('');
    setCreated(null);
    try {
      const r = await session.call<{ assetId: string; deviceKey: string; deviceSecret: string }>(
        endpoints.deviceCreate,
        {},
        {
          productKey: pk,
          ...(deviceKey.trim() ? { deviceKey: deviceKey.trim() } : {}),
          deviceName: { defaultValue: name.trim() },
          timezone,
        },
      );
      setCreated(r.data);
      setDeviceKey('');
      setName('');
      onCreated();
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Section title="New device">
      <form onSubmit={(e) => void submit(e)} aria-label="New device">
        <Select
          label="Product"
          value={pk}
          onChange={setProductKey}
          options={products.map((p) => ({ value: p.productKey, label: p.productName.defaultValue }))}
        />
        <Field label="Device key" value={deviceKey} onInput={setDeviceKey} hint="Optional: the hub generates one" />
        <Field label="Device name" value={name} onInput={setName} required />
        <Field label="Time zone" value={timezone} onInput={setTimezone} required />
        <ErrorText text={error} />
        <button type="submit" class="primary" disabled={!pk}>
          Create device
        </button>
      </form>
      {created && (
        <div>
          <Status text={`Created device ${created.deviceKey}`} />
          <p>
            Its secret is shown once: <code class="secret">{created.deviceSecret}</code> ·{' '}
            <a href={href('devices', created.assetId)}>Open the device</a>
          </p>
        </div>
      )}
    </Section>
  );
}
