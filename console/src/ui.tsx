import type { ComponentChildren, JSX } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { HubError } from './api/session.js';

let nextId = 0;
/** A stable id per component, for label/for and aria-describedby pairs. */
export function useId(prefix: string): string {
  const ref = useRef('');
  if (!ref.current) ref.current = `${prefix}-${++nextId}`;
  return ref.current;
}

export function describe(e: unknown): string {
  if (e instanceof HubError) return `${e.message} (code ${e.code})`;
  return e instanceof Error ? e.message : String(e);
}

/** Loads data for a page; `reload` runs the loader again. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
): { data: T | undefined; error: string; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | undefined; error: string; loading: boolean }>({
    data: undefined,
    error: '',
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: '', loading: false }),
      (e: unknown) => live && setState({ data: undefined, error: describe(e), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/**
 * One user action and its outcome on screen: `run` clears the last outcome, does the work, then shows
 * the message the work returns, or the hub's error. `fail` shows a refusal found before calling the hub.
 */
export interface Action {
  error: string;
  done: string;
  run: (work: () => Promise<string>) => Promise<void>;
  fail: (text: string) => void;
}

export function useAction(): Action {
  const [outcome, setOutcome] = useState({ error: '', done: '' });
  const run = useCallback(async (work: () => Promise<string>) => {
    setOutcome({ error: '', done: '' });
    try {
      const done = await work();
      setOutcome({ error: '', done });
    } catch (err) {
      setOutcome({ error: describe(err), done: '' });
    }
  }, []);
  const fail = useCallback((text: string) => setOutcome({ error: text, done: '' }), []);
  return { ...outcome, run, fail };
}

/** The outcome of an action: its error (an alert) or what it did (a status). */
export function Outcome({ of }: { of: Pick<Action, 'error' | 'done'> }): JSX.Element {
  return (
    <>
      <ErrorText text={of.error} />
      {of.done && <Status text={of.done} />}
    </>
  );
}

export function Field(props: {
  label: string;
  value: string;
  onInput: (v: string) => void;
  type?: 'text' | 'password' | 'datetime-local';
  required?: boolean;
  hint?: string;
  autoComplete?: string;
  name?: string;
}): JSX.Element {
  const id = useId('f');
  const common = {
    id,
    name: props.name ?? id,
    value: props.value,
    required: props.required ?? false,
    autoComplete: props.autoComplete ?? 'off',
    'aria-describedby': props.hint ? `${id}-hint` : undefined,
    onInput: (e: { currentTarget: HTMLInputElement }) => props.onInput(e.currentTarget.value),
  };
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.type === 'password' ? (
        <input type="password" {...common} />
      ) : props.type === 'datetime-local' ? (
        <input type="datetime-local" {...common} />
      ) : (
        <input type="text" {...common} />
      )}
      {props.hint && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
    </div>
  );
}

export function Select(props: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  options: readonly (string | { value: string; label: string })[];
}): JSX.Element {
  const id = useId('s');
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} onChange={(e) => props.onChange(e.currentTarget.value)}>
        {props.options.map((o) =>
          typeof o === 'string' ? (
            <option key={o} value={o}>
              {o}
            </option>
          ) : (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ),
        )}
      </select>
    </div>
  );
}

export function ErrorText({ text }: { text: string }): JSX.Element | null {
  if (!text) return null;
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export function Status({ text }: { text: string }): JSX.Element {
  return (
    <p class="status" role="status">
      {text}
    </p>
  );
}

export function Section(props: { title: string; children: ComponentChildren; level?: 2 | 3 }): JSX.Element {
  const id = useId('sec');
  const H = props.level === 3 ? 'h3' : 'h2';
  return (
    <section aria-labelledby={id} class="card">
      <H id={id}>{props.title}</H>
      {props.children}
    </section>
  );
}

export function Pager(props: { pageNo: number; pageSize: number; total: number; onPage: (n: number) => void }): JSX.Element {
  const pages = Math.max(1, Math.ceil(props.total / props.pageSize));
  return (
    <nav class="pager" aria-label="Pages">
      <button type="button" disabled={props.pageNo <= 1} onClick={() => props.onPage(props.pageNo - 1)}>
        Previous
      </button>
      <span>
        Page {props.pageNo} of {pages} ({props.total} in all)
      </span>
      <button type="button" disabled={props.pageNo >= pages} onClick={() => props.onPage(props.pageNo + 1)}>
        Next
      </button>
    </nav>
  );
}

/** A modal confirmation (native <dialog>: focus is trapped and Escape cancels). */
export function Confirm(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onClose: (ok: boolean) => void;
}): JSX.Element {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId('dlg');
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (props.open && !d.open) d.showModal();
    if (!props.open && d.open) d.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby={id} onCancel={() => props.onClose(false)}>
      <h2 id={id}>{props.title}</h2>
      {props.children}
      <div class="actions">
        <button type="button" onClick={() => props.onClose(false)}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={() => props.onClose(true)}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

export function formatTime(ms: number | undefined): string {
  return ms ? new Date(ms).toLocaleString() : '—';
}

export function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}
