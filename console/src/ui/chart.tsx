import type { JSX } from 'preact';

/**
 * A line chart drawn as SVG by hand (no chart library: a polyline and four labels are enough).
 * Non-numeric values are skipped; the accessible name says what is drawn and its range.
 */
export function LineChart(props: { points: { time: number; value: number }[]; label: string; from: number; to: number }): JSX.Element {
  const W = 640;
  const H = 220;
  const pad = { l: 56, r: 12, t: 12, b: 28 };
  const pts = props.points;
  const values = pts.map((p) => p.value);
  const min = values.length ? Math.min(...values) : 0;
  const max = values.length ? Math.max(...values) : 1;
  const span = max - min || 1;
  const x = (t: number) => pad.l + ((t - props.from) / Math.max(1, props.to - props.from)) * (W - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - (v - min) / span) * (H - pad.t - pad.b);
  const summary = pts.length
    ? `${props.label}: ${pts.length} values from ${min} to ${max}, ${new Date(props.from).toLocaleString()} to ${new Date(props.to).toLocaleString()}`
    : `${props.label}: no values in this time range`;
  return (
    <svg class="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
      <title>{summary}</title>
      <line x1={pad.l} y1={H - pad.b} x2={W - pad.r} y2={H - pad.b} class="axis" />
      <line x1={pad.l} y1={pad.t} x2={pad.l} y2={H - pad.b} class="axis" />
      <text x={pad.l - 6} y={pad.t + 10} text-anchor="end">
        {fmt(max)}
      </text>
      <text x={pad.l - 6} y={H - pad.b} text-anchor="end">
        {fmt(min)}
      </text>
      <text x={pad.l} y={H - 8}>
        {new Date(props.from).toLocaleTimeString()}
      </text>
      <text x={W - pad.r} y={H - 8} text-anchor="end">
        {new Date(props.to).toLocaleTimeString()}
      </text>
      {pts.length > 1 && <polyline class="line" points={pts.map((p) => `${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join(' ')} />}
      {pts.map((p) => (
        <circle key={p.time} class="dot" cx={x(p.time)} cy={y(p.value)} r={2.5} />
      ))}
    </svg>
  );
}

function fmt(n: number): string {
  return Math.abs(n) >= 1000 || Number.isInteger(n) ? String(Math.round(n)) : n.toPrecision(4);
}
