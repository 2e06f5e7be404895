import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Session } from '../api/session.js';
import { sumSamples } from '../model/prometheus.js';
import { ErrorText, Field, Section } from '../ui.js';

/** How often the dashboard reads /metrics; rates are the difference of two reads. */
const PERIOD_MS = 5000;

const TILES = [
  { metric: 'edgehub_mqtt_connections', label: 'MQTT connections', rate: false },
  { metric: 'edgehub_mqtt_messages_in_total', label: 'Messages in per second', rate: true },
  { metric: 'edgehub_mqtt_messages_out_total', label: 'Messages out per second', rate: true },
  { metric: 'edgehub_mqtt_refused_connects_total', label: 'Refused connects', rate: false },
  { metric: 'edgehub_mqtt_acl_refusals_total', label: 'Refused publishes and subscriptions', rate: false },
  { metric: 'edgehub_commands_total', label: 'Commands finished', rate: false },
  { metric: 'edgehub_command_queue_depth', label: 'Commands queued', rate: false },
  { metric: 'edgehub_http_responses_total', label: 'HTTP responses per second', rate: true },
] as const;

/**
 * Connections, message rates and refusals from the hub's Prometheus endpoint (docs/CONSOLE.md).
 * When the hub protects /metrics with a bearer token (HUB_METRICS_TOKEN), the operator pastes it
 * here; like the login it stays in memory.
 */
export function Dashboard(_props: { session: Session }): JSX.Element {
  const [token, setToken] = useState('');
  const [needsToken, setNeedsToken] = useState(false);
  const [error, setError] = useState('');
  const [current, setCurrent] = useState<Map<string, number> | null>(null);
  const [rates, setRates] = useState<Map<string, number>>(new Map());
  const last = useRef<{ at: number; sums: Map<string, number> } | null>(null);

  useEffect(() => {
    let live = true;
    const read = async () => {
      try {
        const res = await fetch('/metrics', token ? { headers: { authorization: `Bearer ${token}` } } : {});
        if (res.status === 401) {
          if (live) setNeedsToken(true);
          return;
        }
        if (!res.ok) throw new Error(`/metrics answered ${res.status}`);
        const sums = sumSamples(await res.text());
        const now = Date.now();
        if (!live) return;
        const prev = last.current;
        if (prev) {
          const r = new Map<string, number>();
          for (const t of TILES)
            if (t.rate)
              r.set(t.metric, Math.max(0, ((sums.get(t.metric) ?? 0) - (prev.sums.get(t.metric) ?? 0)) / ((now - prev.at) / 1000)));
          setRates(r);
        }
        last.current = { at: now, sums };
        setCurrent(sums);
        setNeedsToken(false);
        setError('');
      } catch (e) {
        if (live) setError(e instanceof Error ? e.message : String(e));
      }
    };
    void read();
    const t = setInterval(() => void read(), PERIOD_MS);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [token]);

  return (
    <>
      <h1>Operations</h1>
      {needsToken && (
        <Section title="Metrics token">
          <p>This hub protects its metrics with a bearer token.</p>
          <Field label="Metrics token" type="password" value={token} onInput={setToken} />
        </Section>
      )}
      <ErrorText text={error} />
      <Section title="Now">
        <ul class="tiles">
          {TILES.map((t) => (
            <li key={t.metric} class="tile">
              <span class="tile-label">{t.label}</span>
              <span class="tile-value" data-metric={t.metric}>
                {current
                  ? t.rate
                    ? rates.has(t.metric)
                      ? rates.get(t.metric)!.toFixed(1)
                      : '…'
                    : String(current.get(t.metric) ?? 0)
                  : '…'}
              </span>
            </li>
          ))}
        </ul>
        <p class="hint">Read from /metrics every {PERIOD_MS / 1000} seconds; rates are averaged between two reads.</p>
      </Section>
    </>
  );
}
