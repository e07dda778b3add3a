// A rollout's charts: error rate and p50/p95/p99 per variant over the rollout's time, with
// its step boundaries and rollback marked and its gates' thresholds drawn.

import {api, query} from "../api.js";
import {lineChart} from "../chart.js";
import {fill, h} from "../dom.js";
import {percent, seconds} from "../format.js";

export const RANGES = [
  ["rollout", "the whole rollout"],
  ["15m", "last 15 minutes", 900],
  ["1h", "last hour", 3600],
  ["6h", "last 6 hours", 21600],
  ["24h", "last 24 hours", 86400],
  ["7d", "last 7 days", 7 * 86400],
  ["14d", "last 14 days", 14 * 86400],
];
const ENDED = new Set(["succeeded", "rolled_back", "aborted"]);
const CHARTS = [
  ["error_rate", "Error rate", (p) => (p.requests ? p.error_rate : null), (v) => percent(v), 0.001],
  ["latency_p50", "p50 latency", (p) => p.p50, seconds, 0],
  ["latency_p95", "p95 latency", (p) => p.p95, seconds, 0],
  ["latency_p99", "p99 latency", (p) => p.p99, seconds, 0],
];

/** The time range shown: the rollout from its first transition (a little before) to its
 * end or now, or a fixed window ending now. */
export function rangeOf(view, rows, range) {
  const now = Date.now();
  const fixed = RANGES.find(([key]) => key === range);
  if (fixed && fixed[2]) return {from: now - fixed[2] * 1000, to: now};
  const start = new Date(rows.length ? rows[0].at : view.created_at).getTime();
  const last = rows.length ? new Date(rows[rows.length - 1].at).getTime() : now;
  const end = ENDED.has(view.phase) ? Math.min(now, last + Math.max(30_000, (last - start) * 0.1)) : now;
  const pad = Math.max(20_000, (end - start) * 0.05);
  return {from: start - pad, to: Math.max(end, start + 60_000)};
}

/** Step boundaries and the rollback, as chart markers. */
export function markersOf(rows) {
  return rows.map((row) => {
    const bad = row.to_phase === "rolled_back" || row.action === "rollback";
    const label = bad ? "rollback" : row.to_phase === "aborted" ? "abort" : row.to_phase === "paused" ? "pause" : row.action === "resume" ? "resume" : `${(row.to_share / 100).toFixed(0)}%`;
    return {at: new Date(row.at).getTime(), label, bad, action: row.action};
  });
}

/** The gates on ``metric`` as thresholds: absolute bounds as lines, bounds relative to the
 * baseline as the baseline's value moved by the bound, point by point. */
function thresholdsOf(spec, metric, baselinePoints, format) {
  const out = [];
  for (const gate of spec.gates || []) {
    if (gate.metric !== metric) continue;
    const name = gate.name || gate.metric;
    if (gate.max !== null && gate.max !== undefined) out.push({label: `${name}: max ${format(gate.max)}`, value: gate.max});
    if (gate.max_increase !== null && gate.max_increase !== undefined) {
      out.push({label: `${name}: baseline + ${Number((gate.max_increase * 100).toPrecision(3))}%`, points: baselinePoints.map(([ms, v]) => [ms, v === null ? null : v * (1 + gate.max_increase)])});
    }
    if (gate.max_difference !== null && gate.max_difference !== undefined) {
      const how = metric.endsWith("_rate") ? `${Number((gate.max_difference * 100).toPrecision(3))} pp` : format(gate.max_difference);
      out.push({label: `${name}: baseline + ${how}`, points: baselinePoints.map(([ms, v]) => [ms, v === null ? null : v + gate.max_difference])});
    }
  }
  return out;
}

export function mountCharts(container, id) {
  const select = h("select", {id: `range-${id}`, name: "range"}, RANGES.map(([key, label]) => h("option", {value: key}, label)));
  const note = h("p", {class: "muted small"});
  const charts = h("div", {class: "charts"});
  fill(
    container,
    h("h2", {id: "charts-title"}, "Traffic over time"),
    h("p", {class: "controls"}, h("label", {for: `range-${id}`}, "Range"), select),
    note,
    charts,
  );
  let redraw = null;
  let drawn = "";
  select.addEventListener("change", () => redraw && redraw());
  return async function draw(view, rows) {
    redraw = () => draw(view, rows);
    const {from, to} = rangeOf(view, rows, select.value);
    const result = await api(`metrics${query({flag: view.flag, environment: view.environment, from: new Date(from).toISOString(), to: new Date(to).toISOString()})}`);
    const start = new Date(result.from).getTime();
    const end = new Date(result.to).getTime();
    const markers = markersOf(rows);
    const variants = result.variants.filter((v) => v.variant === view.baseline || v.variant === view.variant);
    // redraw only what changed: a reader's cursor and keyboard focus survive the refresh
    const signature = JSON.stringify([result, markers, select.value]);
    if (signature === drawn) return;
    drawn = signature;
    const focused = charts.contains(document.activeElement) ? document.activeElement.closest("[data-chart]") : null;
    note.textContent = `${variants.map((v) => `${v.variant} ${v.totals.requests} requests`).join(", ")} · one point per ${result.step_seconds} s · dashed lines: the gates' bounds · vertical lines: transitions (the share each step set${markers.some((m) => m.bad) ? "; rollback in red" : ""})`;
    fill(
      charts,
      CHARTS.map(([metric, title, pick, format, floor]) => {
        const series = variants.map((v) => ({
          name: v.variant === view.baseline ? `${v.variant} (baseline)` : v.variant,
          index: v.variant === view.baseline ? 0 : 1,
          points: v.points.map((p) => [new Date(p.start).getTime(), p.requests ? pick(p) : null]),
        }));
        const baseline = series.find((line) => line.index === 0);
        return lineChart({
          id: metric,
          title,
          series,
          from: start,
          to: end,
          format,
          floor,
          markers,
          thresholds: thresholdsOf(view.spec, metric, baseline ? baseline.points : [], format),
        });
      }),
    );
    if (focused) {
      const again = charts.querySelector(`[data-chart="${focused.dataset.chart}"] svg`);
      if (again) again.focus({preventScroll: true});
    }
  };
}
