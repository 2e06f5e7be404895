import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { Product } from '../api/types.js';
import { parseThingModel } from '../model/thing-model-check.js';
import { ThingModelForm } from '../ui/thing-model-form.js';
import { href } from '../router.js';
import { ErrorText, Field, Outcome, Section, Select, useAction, useId, useLoad } from '../ui.js';

const example = JSON.stringify(
  { measurepoints: { power: { name: 'Active power', dataType: 'DOUBLE', unit: 'kW' } }, attributes: {}, events: {}, services: {} },
  null,
  2,
);

/** Products and their thing models (docs/CONSOLE.md). */
export function Products({ session, selected }: { session: Session; selected: string | undefined }): JSX.Element {
  const list = useLoad(
    () => session.call<Product[]>(endpoints.productSearch, {}, { pagination: { pageNo: 1, pageSize: 200 } }).then((r) => r.data),
    [session],
  );
  return (
    <>
      <h1>Products</h1>
      <Section title="All products">
        <ErrorText text={list.error} />
        <table>
          <caption class="sr-only">Products of the organization</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Product key</th>
              <th scope="col">Type</th>
              <th scope="col">Measurepoints</th>
              <th scope="col">Services</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((p) => (
              <tr key={p.productKey}>
                <td>
                  <a href={href('products', p.productKey)}>{p.productName.defaultValue}</a>
                </td>
                <td>
                  <code>{p.productKey}</code>
                </td>
                <td>{p.productType ?? ''}</td>
                <td>{Object.keys(p.thingModel?.measurepoints ?? {}).length}</td>
                <td>{Object.keys(p.thingModel?.services ?? {}).length}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      {selected ? (
        <EditProduct key={selected} session={session} productKey={selected} onSaved={list.reload} />
      ) : (
        <NewProduct session={session} onCreated={list.reload} />
      )}
    </>
  );
}

function NewProduct({ session, onCreated }: { session: Session; onCreated: () => void }): JSX.Element {
  const [name, setName] = useState('');
  const [type, setType] = useState('Device');
  const [model, setModel] = useState(example);
  const action = useAction();
  const parsed = parseThingModel(model);

  const submit = (e: Event) => {
    e.preventDefault();
    const thingModel = parsed.model;
    if (!thingModel) return action.fail('Fix the thing model first.');
    void action.run(async () => {
      const r = await session.call<string>(
        endpoints.productCreate,
        {},
        {
          productName: { defaultValue: name.trim() },
          productType: type,
          dataFormat: 'Json',
          biDirectionalAuth: false,
          thingModel,
        },
      );
      setName('');
      onCreated();
      return `Created product ${r.data}`;
    });
  };
  return (
    <Section title="New product">
      <form onSubmit={(e) => void submit(e)} aria-label="New product">
        <Field label="Product name" value={name} onInput={setName} required />
        <Select label="Product type" value={type} onChange={setType} options={['Device', 'Gateway']} />
        <ModelEditor value={model} onInput={setModel} problems={parsed.problems.map((p) => `${p.path}: ${p.message}`)} />
        <Outcome of={action} />
        <button type="submit" class="primary" disabled={!parsed.model}>
          Create product
        </button>
      </form>
    </Section>
  );
}

function EditProduct({ session, productKey, onSaved }: { session: Session; productKey: string; onSaved: () => void }): JSX.Element {
  const product = useLoad(() => session.call<Product>(endpoints.productGet, { productKey }).then((r) => r.data), [session, productKey]);
  const [model, setModel] = useState('');
  const action = useAction();
  useEffect(() => {
    if (product.data) setModel(JSON.stringify(product.data.thingModel ?? {}, null, 2));
  }, [product.data]);
  const parsed = parseThingModel(model);
  const save = (e: Event) => {
    e.preventDefault();
    const thingModel = parsed.model;
    if (!thingModel) return;
    void action.run(async () => {
      await session.call(endpoints.productUpdate, { productKey }, { thingModel });
      onSaved();
      return 'Thing model saved';
    });
  };
  return (
    <Section title={`Thing model of ${product.data?.productName.defaultValue ?? productKey}`}>
      <ErrorText text={product.error} />
      <p>
        Product key <code>{productKey}</code> · <a href={href('products')}>New product</a>
      </p>
      <form onSubmit={(e) => void save(e)} aria-label="Edit thing model">
        <ModelEditor value={model} onInput={setModel} problems={parsed.problems.map((p) => `${p.path}: ${p.message}`)} />
        <Outcome of={action} />
        <button type="submit" class="primary" disabled={!parsed.model}>
          Save thing model
        </button>
      </form>
    </Section>
  );
}

function ModelEditor(props: { value: string; onInput: (v: string) => void; problems: string[] }): JSX.Element {
  const id = useId('tm');
  return (
    <div class="field">
      <ThingModelForm value={props.value} onInput={props.onInput} />
      <label for={id}>Thing model (JSON: measurepoints, attributes, events, services)</label>
      <textarea
        id={id}
        rows={14}
        spellcheck={false}
        value={props.value}
        aria-invalid={props.problems.length > 0}
        aria-describedby={`${id}-problems`}
        onInput={(e) => props.onInput(e.currentTarget.value)}
      />
      <div id={`${id}-problems`} aria-live="polite">
        {props.problems.length > 0 ? (
          <ul class="problems">
            {props.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
        ) : (
          <small class="hint">The thing model is valid.</small>
        )}
      </div>
    </div>
  );
}
