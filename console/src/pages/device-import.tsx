import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { Product } from '../api/types.js';
import type { LineError } from '../model/device-import.js';
import { ErrorText, Section, Select, Status, describe, useId } from '../ui.js';

/** Devices per batchCreate call: small enough for a smooth progress bar. */
const BATCH = 100;

/** CSV import with progress and the error of each refused line (docs/CONSOLE.md). */
export function DeviceImport({ session, products, onDone }: { session: Session; products: Product[]; onDone: () => void }): JSX.Element {
  const fileId = useId('csv');
  const [productKey, setProductKey] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [errors, setErrors] = useState<LineError[]>([]);
  const [summary, setSummary] = useState('');
  const [error, setError] = useState('');
  const pk = productKey || products[0]?.productKey || '';

  const run = async (e: Event) => {
    e.preventDefault();
    if (!file) return;
    setError('');
    setSummary('');
    setErrors([]);
    try {
      // The CSV parser is loaded on the first import only: it is most of the console's weight.
      const { prepareImport } = await import('../model/device-import.js');
      const prepared = prepareImport(await file.text(), pk);
      const failed: LineError[] = [...prepared.errors];
      let created = 0;
      let done = prepared.errors.length;
      setProgress({ done, total: prepared.total });
      for (let i = 0; i < prepared.lines.length; i += BATCH) {
        const batch = prepared.lines.slice(i, i + BATCH);
        const r = await session.call<{ code: number; msg: string }[]>(
          endpoints.deviceBatchCreate,
          {},
          { deviceList: batch.map((l) => l.device) },
        );
        r.data.forEach((item, j) => {
          if (item.code === 0) created++;
          else failed.push({ line: batch[j]!.line, message: `${item.msg} (code ${item.code})` });
        });
        done += batch.length;
        setProgress({ done, total: prepared.total });
      }
      failed.sort((a, b) => a.line - b.line);
      setErrors(failed);
      setSummary(`Imported ${created} of ${prepared.total} devices; ${failed.length} lines refused.`);
      onDone();
    } catch (err) {
      setError(describe(err));
    }
  };

  return (
    <Section title="Import devices from CSV">
      <p class="hint">
        Header: <code>deviceKey,deviceName,timezone,deviceDesc,tag:&lt;key&gt;</code> (productKey optional: the product below is used).
      </p>
      <form onSubmit={(e) => void run(e)} aria-label="Import devices">
        <Select
          label="Product"
          value={pk}
          onChange={setProductKey}
          options={products.map((p) => ({ value: p.productKey, label: p.productName.defaultValue }))}
        />
        <div class="field">
          <label for={fileId}>CSV file</label>
          <input id={fileId} type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </div>
        <button type="submit" class="primary" disabled={!file}>
          Import
        </button>
      </form>
      <ErrorText text={error} />
      {progress && (
        <div class="field">
          <label for={`${fileId}-progress`}>Import progress</label>
          <progress id={`${fileId}-progress`} max={Math.max(1, progress.total)} value={progress.done}>
            {progress.done} of {progress.total}
          </progress>
        </div>
      )}
      {summary && <Status text={summary} />}
      {errors.length > 0 && (
        <table class="import-errors">
          <caption>Refused lines</caption>
          <thead>
            <tr>
              <th scope="col">Line</th>
              <th scope="col">Error</th>
            </tr>
          </thead>
          <tbody>
            {errors.map((e) => (
              <tr key={e.line} data-line={e.line}>
                <td>{e.line}</td>
                <td>{e.message}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
