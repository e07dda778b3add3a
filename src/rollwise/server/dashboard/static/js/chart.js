// Small charts in inline SVG, drawn by the page (no library): line charts with gaps where
// there is no data, markers (step boundaries, a rollback), dashed thresholds, and a cursor
// that reads every line's value at any point, by pointer or by keyboard.

import {h, s} from "./dom.js";

const W = 420;
const H = 180;
const M = {left: 56, right: 8, top: 14, bottom: 24};

/** A round upper bound for the y axis (1, 2, 2.5 or 5 times a power of ten). */
export function niceMax(value) {
  if (!(value > 0)) return 0;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value * (1 - 1e-9)) return step * power;
  }
  return 10 * power;
}

/** Tick text for a moment: hours and minutes over a day or less, the date beyond. */
function clock(ms, span) {
  const moment = new Date(ms);
  if (span > 2 * 86400_000) return moment.toLocaleDateString("en-CA", {month: "2-digit", day: "2-digit"}) + " " + moment.toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit"});
  if (span <= 10 * 60_000) return moment.toLocaleTimeString("en-GB");
  return moment.toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit"});
}

function fullTime(ms) {
  return new Date(ms).toLocaleString("en-GB");
}

/** The value of a threshold at ``ms``: a constant, or the threshold's own points. */
function thresholdAt(threshold, ms) {
  if (threshold.value !== undefined) return threshold.value;
  let best = null;
  for (const [at, value] of threshold.points || []) {
    if (at <= ms) best = value;
  }
  return best;
}

/**
 * series: [{name, index, points: [[epochMs, value | null], ...]}]; format(value) → text.
 * markers: [{at: epochMs, label, bad}]; thresholds: [{label, value} or {label, points}].
 * ``floor``: the smallest top of the y axis (a chart of zeros still has a scale).
 * Returns a <figure> with the SVG, a caption, a legend and a live readout.
 */
export function lineChart({title, series, from, to, format, markers = [], thresholds = [], floor = 0, id}) {
  const figure = h("figure", {class: "chart", "data-chart": id || title}, h("figcaption", {}, title));
  const values = series.flatMap((line) => line.points.map(([, v]) => v)).filter((v) => v !== null && v !== undefined);
  if (values.length === 0) {
    figure.append(h("p", {class: "muted"}, "No data in this range."));
    return figure;
  }
  const limits = thresholds.flatMap((t) => (t.value !== undefined ? [t.value] : (t.points || []).map(([, v]) => v))).filter((v) => v !== null && v > 0);
  // scale to the data; a threshold far above the data is named in the legend, not drawn
  const dataTop = Math.max(...values);
  const nearLimits = limits.filter((v) => v <= Math.max(dataTop, floor) * 3);
  const top = niceMax(Math.max(dataTop, floor, ...nearLimits)) || niceMax(floor) || 1;
  const span = Math.max(1, to - from);
  const x = (ms) => M.left + ((ms - from) / span) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - (Math.min(v, top * 1.05) / top) * (H - M.top - M.bottom);
  const names = series.map((l) => l.name).join(", ");
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    tabindex: "0",
    "aria-label": `${title}: ${names}, up to ${format(top)}. Use the arrow keys to read the values at each time.`,
  });
  for (const fraction of [0, 0.5, 1]) {
    const level = y(top * fraction);
    svg.append(
      s("line", {class: "grid", x1: M.left, x2: W - M.right, y1: level, y2: level}),
      s("text", {class: "tick", x: M.left - 6, y: level + 4, "text-anchor": "end"}, format(top * fraction)),
    );
  }
  svg.append(
    s("text", {class: "tick", x: M.left, y: H - 6}, clock(from, span)),
    s("text", {class: "tick", x: W - M.right, y: H - 6, "text-anchor": "end"}, clock(to, span)),
  );
  let lastX = -Infinity;
  let row = 0;
  for (const marker of markers) {
    if (marker.at < from || marker.at > to) continue;
    const mx = x(marker.at).toFixed(1);
    // labels of close markers are stacked, not drawn over each other
    row = Number(mx) - lastX < 34 ? row + 1 : 0;
    lastX = Number(mx);
    svg.append(
      s("line", {class: `marker${marker.bad ? " bad" : ""}`, x1: mx, x2: mx, y1: M.top - 4, y2: H - M.bottom, "data-marker": marker.label},
        s("title", {}, `${marker.label} at ${fullTime(marker.at)}`)),
      s("text", {class: `marker-label${marker.bad ? " bad" : ""}`, x: Number(mx) + 2, y: M.top - 4 + (row % 4) * 10}, marker.label),
    );
  }
  for (const threshold of thresholds) {
    let d = "";
    if (threshold.value !== undefined) {
      if (threshold.value > top * 1.05) continue;
      d = `M${M.left},${y(threshold.value).toFixed(1)} L${W - M.right},${y(threshold.value).toFixed(1)}`;
    } else {
      let pen = "M";
      for (const [ms, value] of threshold.points || []) {
        if (value === null || value === undefined) {
          pen = "M";
          continue;
        }
        d += `${pen}${x(ms).toFixed(1)},${y(value).toFixed(1)} `;
        pen = "L";
      }
    }
    if (d) svg.append(s("path", {class: "threshold", d: d.trim(), "data-threshold": threshold.label}, s("title", {}, threshold.label)));
  }
  const radius = Math.max(...series.map((line) => line.points.length)) > 60 ? 1.2 : 2.5;
  for (const line of series) {
    let d = "";
    let pen = "M";
    const dots = s("g", {class: `dots c${line.index % 6}`});
    for (const [ms, value] of line.points) {
      if (value === null || value === undefined) {
        pen = "M";
        continue;
      }
      const px = x(ms).toFixed(1);
      const py = y(value).toFixed(1);
      d += `${pen}${px},${py} `;
      pen = "L";
      dots.append(s("circle", {cx: px, cy: py, r: radius}, s("title", {}, `${line.name} ${clock(ms, span)}: ${format(value)}`)));
    }
    svg.append(s("path", {class: `line c${line.index % 6}`, d: d.trim(), "data-variant": line.name}), dots);
  }

  // the cursor: the nearest time with data, every line's value there
  const times = [...new Set(series.flatMap((line) => line.points.filter(([, v]) => v !== null && v !== undefined).map(([ms]) => ms)))].sort((a, b) => a - b);
  const cursor = s("line", {class: "cursor", x1: 0, x2: 0, y1: M.top, y2: H - M.bottom, visibility: "hidden"});
  const readout = h("p", {class: "readout", "aria-live": "polite"});
  const hit = s("rect", {class: "hit", x: M.left, y: M.top, width: W - M.left - M.right, height: H - M.top - M.bottom});
  svg.append(cursor, hit);
  let at = -1;
  function show(index) {
    if (times.length === 0) return;
    at = Math.max(0, Math.min(times.length - 1, index));
    const ms = times[at];
    const cx = x(ms).toFixed(1);
    cursor.setAttribute("x1", cx);
    cursor.setAttribute("x2", cx);
    cursor.setAttribute("visibility", "visible");
    const parts = series.map((line) => {
      const point = line.points.find(([t]) => t === ms);
      const value = point ? point[1] : null;
      return `${line.name} ${value === null || value === undefined ? "no data" : format(value)}`;
    });
    for (const threshold of thresholds) {
      const value = thresholdAt(threshold, ms);
      if (value !== null && value !== undefined) parts.push(`${threshold.label} ${format(value)}`);
    }
    readout.textContent = `${fullTime(ms)}: ${parts.join(" · ")}`;
  }
  function nearest(clientX) {
    const box = svg.getBoundingClientRect();
    const ms = from + ((((clientX - box.left) / box.width) * W - M.left) / (W - M.left - M.right)) * span;
    let best = 0;
    for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - ms) < Math.abs(times[best] - ms)) best = i;
    return best;
  }
  svg.addEventListener("pointermove", (event) => show(nearest(event.clientX)));
  svg.addEventListener("pointerdown", (event) => show(nearest(event.clientX)));
  svg.addEventListener("keydown", (event) => {
    const moves = {ArrowLeft: at - 1, ArrowRight: at < 0 ? 0 : at + 1, Home: 0, End: times.length - 1};
    if (!(event.key in moves)) return;
    event.preventDefault();
    show(moves[event.key]);
  });
  svg.addEventListener("focus", () => at < 0 && show(times.length - 1));

  const hidden = thresholds.filter((t) => t.value !== undefined && t.value > top * 1.05);
  figure.append(
    svg,
    readout,
    h(
      "ul",
      {class: "legend"},
      series.map((line) => h("li", {}, h("span", {class: `swatch c${line.index % 6}`, "aria-hidden": "true"}), line.name)),
      thresholds.filter((t) => !hidden.includes(t)).map((t) => h("li", {class: "threshold-item"}, h("span", {class: "threshold-key", "aria-hidden": "true"}), t.label)),
      hidden.map((t) => h("li", {class: "muted threshold-item"}, `${t.label}: ${format(t.value)} (above the data, not drawn)`)),
    ),
  );
  return figure;
}

/** A horizontal bar of parts ([{label, value, index}]) out of ``total``, labelled in text. */
export function shareBar(parts, total, label) {
  const bar = h("div", {class: "sharebar", role: "img", "aria-label": label});
  for (const part of parts) {
    if (!part.value) continue;
    const segment = h("span", {class: `c${part.index % 6}`, title: `${part.label}`});
    segment.style.width = `${(100 * part.value) / total}%`;
    bar.append(segment);
  }
  return bar;
}

/**
 * A lift's interval as a small bar around zero: the interval from ``lower`` to ``upper``,
 * a tick at ``estimate``, a line at zero; ``scale`` is the largest |value| the axis shows
 * (the same for every arm of a metric, so their bars compare). ``kind``: "good", "bad" or
 * "neutral" colours the bar; ``label`` is the text a screen reader reads; ``limit``: a
 * guardrail's tolerance (a signed lift), drawn as a dashed line.
 */
export function intervalBar({lower, upper, estimate, scale, kind = "neutral", label, limit = null}) {
  const width = 160;
  const height = 20;
  const pad = 6;
  const svg = s("svg", {class: `interval ${kind}`, viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": label});
  const finite = (v) => typeof v === "number" && Number.isFinite(v);
  const top = scale > 0 ? scale : 1;
  const x = (v) => pad + ((Math.max(-top, Math.min(top, v)) + top) / (2 * top)) * (width - 2 * pad);
  svg.append(s("line", {class: "axis", x1: pad, x2: width - pad, y1: height / 2, y2: height / 2}));
  if (finite(lower) && finite(upper)) {
    const left = x(lower);
    svg.append(s("rect", {class: "span", x: left.toFixed(1), y: 5, width: Math.max(1, x(upper) - left).toFixed(1), height: height - 10, rx: 2}));
    // an interval beyond the axis ends in an arrow-like notch: say so in the title
    if (lower < -top || upper > top) svg.append(s("title", {}, `${label} (clipped to ±${Number((top * 100).toPrecision(3))}%)`));
  }
  if (finite(estimate)) svg.append(s("line", {class: "estimate", x1: x(estimate).toFixed(1), x2: x(estimate).toFixed(1), y1: 2, y2: height - 2}));
  svg.append(s("line", {class: "zero", x1: x(0), x2: x(0), y1: 0, y2: height}));
  if (finite(limit)) svg.append(s("line", {class: "limit", x1: x(limit).toFixed(1), x2: x(limit).toFixed(1), y1: 0, y2: height}));
  return svg;
}
