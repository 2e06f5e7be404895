import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { endpoints } from '../api/endpoints.js';
import type { Session } from '../api/session.js';
import type { ThingModel } from '../api/types.js';
import { ErrorText, Section, Select, formatTime, show, useLoad } from '../ui.js';

export interface DeviceEvent {
  time: number;
  eventId: string;
  values: Record<string, unknown>;
}

const RANGES = [
  { value: '3600000', label: 'Last hour' },
  { value: '86400000', label: 'Last 24 hours' },
  { value: '604800000', label: 'Last 7 days' },
  { value: '2678400000', label: 'Last 31 days' },
];
const PAGE = 50;

/**
 * A device's events: the ones it posted in the chosen range, newest first, read from the hub's
 * history (events queryHistory, docs/PROTOCOL.md §3.2) page by page, with those arriving on the
 * event stream while the page is open on top.
 */
export function DeviceEvents(props: { session: Session; assetId: string; model: ThingModel; live: DeviceEvent[] }): JSX.Element {
  const { session, assetId, model } = props;
  const ids = Object.keys(model.events ?? {});
  const [eventId, setEventId] = useState('');
  const [range, setRange] = useState('86400000');
  const [pages, setPages] = useState(1);
  const history = useLoad(async () => {
    if (ids.length === 0) return { items: [] as DeviceEvent[], more: false, end: Date.now() };
    const end = Date.now() + 1;
    const items: DeviceEvent[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < pages; i++) {
      const r: { data: { items: DeviceEvent[]; nextCursor: string | null } } = await session.call(
        endpoints.eventHistory,
        { assetId },
        {
          events: eventId ? [eventId] : ids,
          startTime: end - Number(range),
          endTime: end,
          order: 'DESC',
          pageSize: PAGE,
          ...(cursor ? { cursor } : {}),
        },
      );
      items.push(...r.data.items);
      cursor = r.data.nextCursor;
      if (!cursor) break;
    }
    return { items, more: cursor !== null, end };
  }, [session, assetId, eventId, range, pages, ids.join(',')]);
  const since = history.data?.end ?? Number.MAX_SAFE_INTEGER;
  const live = props.live.filter((e) => e.time >= since && (!eventId || e.eventId === eventId));
  const rows = [...live, ...(history.data?.items ?? [])];

  return (
    <Section title="Events">
      {ids.length === 0 ? (
        <p class="hint">The thing model declares no events.</p>
      ) : (
        <>
          <div class="filters">
            <Select
              label="Event"
              value={eventId}
              onChange={(v) => {
                setEventId(v);
                setPages(1);
              }}
              options={[{ value: '', label: 'All events' }, ...ids.map((id) => ({ value: id, label: model.events?.[id]?.name ?? id }))]}
            />
            <Select
              label="Events of"
              value={range}
              onChange={(v) => {
                setRange(v);
                setPages(1);
              }}
              options={RANGES}
            />
            <button type="button" onClick={history.reload}>
              Refresh
            </button>
          </div>
          <ErrorText text={history.error} />
          {rows.length === 0 && !history.loading && (
            <p class="hint">No events in this range. New ones appear here as the device posts them.</p>
          )}
          {rows.length > 0 && (
            <table class="device-events">
              <caption class="sr-only">Events, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Values</th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {rows.map((e, i) => (
                  <tr key={`${e.time}-${e.eventId}-${i}`} data-event-id={e.eventId}>
                    <td>{model.events?.[e.eventId]?.name ?? e.eventId}</td>
                    <td>
                      <code>{show(e.values)}</code>
                    </td>
                    <td>{formatTime(e.time)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {history.data?.more && (
            <button type="button" onClick={() => setPages((p) => p + 1)}>
              Older events
            </button>
          )}
        </>
      )}
    </Section>
  );
}
