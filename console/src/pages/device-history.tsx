import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { ThingModel } from '../api/types.js';
import { LineChart } from '../ui/chart.js';
import { ErrorText, Field, Section, Select, useLoad } from '../ui.js';

const NUMERIC = new Set(['INT', 'FLOAT', 'DOUBLE', 'TIMESTAMP']);
const RANGES = [
  { value: '900000', label: 'Last 15 minutes' },
  { value: '3600000', label: 'Last hour' },
  { value: '86400000', label: 'Last 24 hours' },
  { value: '604800000', label: 'Last 7 days' },
  { value: 'custom', label: 'Custom range' },
];
/** Pages of history read for one chart (1000 points each): enough for a screen-wide line. */
const MAX_PAGES = 5;

interface HistoryPage {
  items: { measurepoint: string; time: number; value: unknown }[];
  nextCursor: string | null;
}

/** The history chart of one measurepoint with a time-range picker. */
export function DeviceHistory({
  session,
  assetId,
  model,
  live,
}: {
  session: Session;
  assetId: string;
  model: ThingModel;
  /** Values seen on the event stream since the page opened: a rolling range extends its line with them. */
  live: Record<string, { time: number; value: number }[]>;
}): JSX.Element {
  const numeric = Object.entries(model.measurepoints ?? {})
    .filter(([, s]) => NUMERIC.has(s.dataType))
    .map(([id]) => id);
  const [measurepoint, setMeasurepoint] = useState(numeric[0] ?? '');
  const [range, setRange] = useState('3600000');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [tick, setTick] = useState(0);

  const timeWindow = (): { start: number; end: number } => {
    if (range !== 'custom') {
      const end = Date.now();
      return { start: end - Number(range), end };
    }
    return { start: Date.parse(from), end: Date.parse(to) };
  };
  const history = useLoad(async () => {
    const { start, end } = timeWindow();
    if (!measurepoint) return { points: [], start, end };
    if (!Number.isFinite(start) || !Number.isFinite(end) || start >= end) throw new Error('Choose a start before the end');
    const points: { time: number; value: number }[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const body: Record<string, unknown> = { measurepoints: [measurepoint], startTime: start, endTime: end, order: 'ASC', pageSize: 1000 };
      if (cursor) body.cursor = cursor;
      const r = await session.call<HistoryPage>(endpoints.queryHistory, { assetId }, body);
      for (const item of r.data.items) if (typeof item.value === 'number') points.push({ time: item.time, value: item.value });
      cursor = r.data.nextCursor;
      if (!cursor) break;
    }
    return { points, start, end };
  }, [session, assetId, measurepoint, range, tick]);

  return (
    <Section title="History">
      {numeric.length === 0 ? (
        <p>The thing model has no numeric measurepoint to chart.</p>
      ) : (
        <>
          <form
            class="filters"
            aria-label="History range"
            onSubmit={(e) => {
              e.preventDefault();
              setTick((t) => t + 1);
            }}
          >
            <Select label="Measurepoint" value={measurepoint} onChange={setMeasurepoint} options={numeric} />
            <Select label="Time range" value={range} onChange={setRange} options={RANGES} />
            {range === 'custom' && (
              <>
                <Field label="From" type="datetime-local" value={from} onInput={setFrom} />
                <Field label="To" type="datetime-local" value={to} onInput={setTo} />
              </>
            )}
            <button type="submit">Refresh</button>
          </form>
          <ErrorText text={history.error} />
          {history.data && (
            <LineChart
              points={withLive(history.data.points, range === 'custom' ? [] : (live[measurepoint] ?? []))}
              from={range === 'custom' ? history.data.start : Math.max(history.data.start, Date.now() - Number(range))}
              to={range === 'custom' ? history.data.end : Math.max(history.data.end, Date.now())}
              label={`${model.measurepoints?.[measurepoint]?.name ?? measurepoint}${model.measurepoints?.[measurepoint]?.unit ? ` (${model.measurepoints[measurepoint]?.unit})` : ''}`}
            />
          )}
        </>
      )}
    </Section>
  );
}

/** The stored history, then the live values newer than its last point. */
function withLive(points: { time: number; value: number }[], live: { time: number; value: number }[]): { time: number; value: number }[] {
  const last = points[points.length - 1]?.time ?? -Infinity;
  return [...points, ...live.filter((p) => p.time > last)];
}
