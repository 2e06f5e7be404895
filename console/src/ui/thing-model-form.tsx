import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { dataTypes, type DataType, type FieldSpec, type ServiceSpec, type ThingModel } from '../api/types.js';
import { IDENTIFIER, parseThingModel, type ModelProblem } from '../model/thing-model-check.js';
import { Select, useId } from '../ui.js';

type Section = 'measurepoints' | 'attributes' | 'events' | 'services';
type EventSpec = NonNullable<ThingModel['events']>[string];

const SINGULAR: Record<Section, string> = {
  measurepoints: 'measurepoint',
  attributes: 'attribute',
  events: 'event',
  services: 'service',
};

/**
 * The thing model as a form (docs/CONSOLE.md, Products): measurepoints, attributes, events and
 * services with their types, added, edited and removed row by row. It edits the same JSON text as
 * the JSON editor beside it (each change rewrites the text; each text edit redraws the form), so
 * properties the form does not show survive, and the same checks report problems as you type.
 */
export function ThingModelForm(props: { value: string; onInput: (text: string) => void }): JSX.Element {
  const parsed = parseLoose(props.value);
  if (!parsed) return <p class="hint">The JSON below does not parse: fix it there to edit the thing model with this form.</p>;
  const { model } = parsed;
  const problems = parseThingModel(props.value).problems;
  const write = (next: ThingModel) => props.onInput(JSON.stringify(next, null, 2));
  const setSection = <S extends Section>(section: S, entries: NonNullable<ThingModel[S]>) => write({ ...model, [section]: entries });

  return (
    <div class="tm-form">
      {(['measurepoints', 'attributes'] as const).map((section) => (
        <SectionRows
          key={section}
          section={section}
          model={model}
          problems={problems}
          onWrite={(entries) => setSection(section, entries as Record<string, FieldSpec>)}
          fresh={() => ({ dataType: 'DOUBLE' })}
          row={(id, spec, update) => <FieldRow path={`${section}.${id}`} spec={spec as FieldSpec} onChange={update} />}
        />
      ))}
      <SectionRows
        section="events"
        model={model}
        problems={problems}
        onWrite={(entries) => setSection('events', entries as Record<string, EventSpec>)}
        fresh={() => ({ outputData: {} })}
        row={(id, spec, update) => {
          const e = spec as EventSpec;
          return (
            <>
              <NameField label={`Name of event ${id}`} value={e.name ?? ''} onInput={(name) => update({ ...e, name })} />
              <Params
                title={`Output of event ${id}`}
                path={`events.${id}.outputData`}
                params={e.outputData ?? {}}
                problems={problems}
                onChange={(outputData) => update({ ...e, outputData })}
              />
            </>
          );
        }}
      />
      <SectionRows
        section="services"
        model={model}
        problems={problems}
        onWrite={(entries) => setSection('services', entries as Record<string, ServiceSpec>)}
        fresh={() => ({ callType: 'ASYNC', inputData: {}, outputData: {} })}
        row={(id, spec, update) => {
          const s = spec as ServiceSpec;
          return (
            <>
              <NameField label={`Name of service ${id}`} value={s.name ?? ''} onInput={(name) => update({ ...s, name })} />
              <Select
                label={`Call type of service ${id}`}
                value={s.callType ?? 'ASYNC'}
                onChange={(v) => update({ ...s, callType: v as 'SYNC' | 'ASYNC' })}
                options={['ASYNC', 'SYNC']}
              />
              <Params
                title={`Input of service ${id}`}
                path={`services.${id}.inputData`}
                params={s.inputData ?? {}}
                problems={problems}
                onChange={(inputData) => update({ ...s, inputData })}
              />
              <Params
                title={`Output of service ${id}`}
                path={`services.${id}.outputData`}
                params={s.outputData ?? {}}
                problems={problems}
                onChange={(outputData) => update({ ...s, outputData })}
              />
            </>
          );
        }}
      />
    </div>
  );
}

/** The JSON text as an object of sections (the strict check reports what is wrong inside). */
function parseLoose(text: string): { model: ThingModel } | undefined {
  if (text.trim() === '') return { model: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    for (const s of Object.values(v as Record<string, unknown>))
      if (s !== undefined && (typeof s !== 'object' || s === null || Array.isArray(s))) return undefined;
    return { model: v };
  } catch {
    return undefined;
  }
}

function SectionRows(props: {
  section: Section;
  model: ThingModel;
  problems: ModelProblem[];
  onWrite: (entries: Record<string, unknown>) => void;
  fresh: () => unknown;
  row: (id: string, spec: unknown, update: (spec: unknown) => void) => JSX.Element;
}): JSX.Element {
  const { section } = props;
  const entries = Object.entries((props.model[section] ?? {}) as Record<string, unknown>);
  const word = SINGULAR[section];
  const ids = entries.map(([id]) => id);
  const replace = (i: number, id: string, spec: unknown) =>
    props.onWrite(Object.fromEntries(entries.map((e, j) => (j === i ? [id, spec] : e))));
  return (
    <fieldset class="tm-section">
      <legend>{section[0]!.toUpperCase() + section.slice(1)}</legend>
      {entries.length === 0 && <p class="hint">No {section} yet.</p>}
      {entries.map(([id, spec], i) => (
        <div class="tm-row" key={`${section}-${i}`} role="group" aria-label={`${word} ${id}`}>
          <IdentifierField
            label={`Identifier of ${word} ${i + 1}`}
            value={id}
            taken={ids.filter((x) => x !== id)}
            onCommit={(next) => replace(i, next, spec)}
          />
          {props.row(id, spec, (next) => replace(i, id, next))}
          <Problems problems={props.problems} prefix={`${section}.${id}`} />
          <button
            type="button"
            aria-label={`Remove ${word} ${id}`}
            onClick={() => props.onWrite(Object.fromEntries(entries.filter((_, j) => j !== i)))}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => props.onWrite(Object.fromEntries([...entries, [freeId(word, ids), props.fresh()]]))}>
        Add {word}
      </button>
    </fieldset>
  );
}

/** Input or output parameters of an event or service: a field row per parameter. */
function Params(props: {
  title: string;
  path: string;
  params: Record<string, FieldSpec>;
  problems: ModelProblem[];
  onChange: (params: Record<string, FieldSpec>) => void;
}): JSX.Element {
  const entries = Object.entries(props.params);
  const ids = entries.map(([id]) => id);
  const replace = (i: number, id: string, spec: FieldSpec) =>
    props.onChange(Object.fromEntries(entries.map((e, j) => (j === i ? [id, spec] : e))));
  return (
    <fieldset class="tm-params">
      <legend>{props.title}</legend>
      {entries.map(([id, spec], i) => (
        <div class="tm-row" key={i}>
          <IdentifierField
            label={`${props.title}: parameter ${i + 1}`}
            value={id}
            taken={ids.filter((x) => x !== id)}
            onCommit={(next) => replace(i, next, spec)}
          />
          <FieldRow path={`${props.path}.${id}`} spec={spec} onChange={(s) => replace(i, id, s)} />
          <Problems problems={props.problems} prefix={`${props.path}.${id}`} />
          <button
            type="button"
            aria-label={`Remove parameter ${id} (${props.title})`}
            onClick={() => props.onChange(Object.fromEntries(entries.filter((_, j) => j !== i)))}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => props.onChange({ ...props.params, [freeId('param', ids)]: { dataType: 'INT' } })}>
        Add parameter ({props.title})
      </button>
    </fieldset>
  );
}

/** Name, data type, unit, and the ENUM values or ARRAY item type when the type needs them. */
function FieldRow({ path, spec, onChange }: { path: string; spec: FieldSpec; onChange: (s: FieldSpec) => void }): JSX.Element {
  const set = (patch: Partial<FieldSpec>) => {
    const next: FieldSpec = { ...spec, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined || v === '') delete (next as unknown as Record<string, unknown>)[k];
    onChange(next);
  };
  return (
    <>
      <NameField label={`Name of ${path}`} value={spec.name ?? ''} onInput={(name) => set({ name })} />
      <Select
        label={`Data type of ${path}`}
        value={spec.dataType}
        onChange={(v) => {
          const t = v as DataType;
          set({
            dataType: t,
            enumValues: t === 'ENUM' ? (spec.enumValues ?? []) : undefined,
            itemType: t === 'ARRAY' ? (spec.itemType ?? { dataType: 'INT' }) : undefined,
          });
        }}
        options={dataTypes}
      />
      <NameField label={`Unit of ${path}`} value={spec.unit ?? ''} onInput={(unit) => set({ unit })} />
      {spec.dataType === 'ENUM' && (
        <DraftField
          label={`Values of ${path} (comma-separated)`}
          value={(spec.enumValues ?? []).join(', ')}
          onCommit={(text) => {
            set({
              enumValues: text
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
                .map((s) => (/^-?\d+$/.test(s) ? Number(s) : s)),
            });
            return '';
          }}
        />
      )}
      {spec.dataType === 'ARRAY' && (
        <Select
          label={`Item type of ${path}`}
          value={spec.itemType?.dataType ?? 'INT'}
          onChange={(v) => set({ itemType: { ...(spec.itemType ?? {}), dataType: v as DataType } })}
          options={dataTypes.filter((t) => t !== 'ARRAY')}
        />
      )}
    </>
  );
}

function NameField(props: { label: string; value: string; onInput: (v: string) => void }): JSX.Element {
  const id = useId('tmf');
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input id={id} type="text" autoComplete="off" value={props.value} onInput={(e) => props.onInput(e.currentTarget.value)} />
    </div>
  );
}

/**
 * An input kept as typed and written to the model when it is left (change): renaming an identifier
 * on every keystroke would merge it with another one on the way. `onCommit` returns a problem or ''.
 */
function DraftField(props: { label: string; value: string; onCommit: (v: string) => string; check?: (v: string) => string }): JSX.Element {
  const id = useId('tmd');
  const [draft, setDraft] = useState(props.value);
  const [problem, setProblem] = useState('');
  // Reset to the model's value only when that value changes: effects run after the next frame, so
  // resetting on mount too would undo what was typed meanwhile into a row just added (a busy
  // machine's late frame lost the identifier typed right after "Add").
  const shown = useRef(props.value);
  useEffect(() => {
    if (shown.current === props.value) return;
    shown.current = props.value;
    setDraft(props.value);
    setProblem('');
  }, [props.value]);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input
        id={id}
        type="text"
        autoComplete="off"
        value={draft}
        aria-invalid={problem !== ''}
        aria-describedby={problem ? `${id}-problem` : undefined}
        onInput={(e) => {
          setDraft(e.currentTarget.value);
          setProblem(props.check?.(e.currentTarget.value) ?? '');
        }}
        onChange={(e) => setProblem(props.onCommit(e.currentTarget.value))}
      />
      {problem && (
        <small id={`${id}-problem`} class="error">
          {problem}
        </small>
      )}
    </div>
  );
}

function IdentifierField(props: { label: string; value: string; taken: string[]; onCommit: (v: string) => void }): JSX.Element {
  const check = (v: string) =>
    !IDENTIFIER.test(v) ? 'a letter or _, then up to 63 of A-Z a-z 0-9 _ . -' : props.taken.includes(v) ? `${v} is already used here` : '';
  return (
    <DraftField
      label={props.label}
      value={props.value}
      check={check}
      onCommit={(v) => {
        const why = check(v);
        if (!why && v !== props.value) props.onCommit(v);
        return why;
      }}
    />
  );
}

function Problems({ problems, prefix }: { problems: ModelProblem[]; prefix: string }): JSX.Element | null {
  const mine = problems.filter((p) => p.path === prefix || p.path.startsWith(`${prefix}.`));
  if (mine.length === 0) return null;
  return (
    <ul class="problems tm-problems">
      {mine.map((p) => (
        <li key={p.path + p.message}>
          {p.path}: {p.message}
        </li>
      ))}
    </ul>
  );
}

function freeId(word: string, taken: string[]): string {
  for (let n = taken.length + 1; ; n++) if (!taken.includes(`${word}${n}`)) return `${word}${n}`;
}
