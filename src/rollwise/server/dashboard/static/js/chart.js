// A small line chart in inline SVG: one line per variant, gaps where there is no data.

import {h, s} from "./dom.js";

const W = 420;
const H = 170;
const M = {left: 54, right: 8, top: 10, bottom: 24};

/** A round upper bound for the y axis (1, 2, 2.5 or 5 times a power of ten). */
function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function clock(ms) {
  return new Date(ms).toLocaleTimeString("en-GB", {hour: "2-digit", minute: "2-digit"});
}

/**
 * series: [{name, index, points: [[epochMs, value | null], ...]}]; format(value) → text.
 * Returns a <figure> with the SVG, a caption and a legend.
 */
export function lineChart({title, series, from, to, format}) {
  const values = series.flatMap((line) => line.points.map(([, v]) => v)).filter((v) => v !== null);
  const figure = h("figure", {class: "chart"}, h("figcaption", {}, title));
  if (values.length === 0) {
    figure.append(h("p", {class: "muted"}, "No data in this range."));
    return figure;
  }
  const top = niceMax(Math.max(...values));
  const x = (ms) => M.left + ((ms - from) / Math.max(1, to - from)) * (W - M.left - M.right);
  const y = (v) => H - M.bottom - (v / top) * (H - M.top - M.bottom);
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": `${title}: ${series.map((l) => l.name).join(", ")}, up to ${format(top)}`,
  });
  for (const fraction of [0, 0.5, 1]) {
    const level = y(top * fraction);
    svg.append(
      s("line", {class: "grid", x1: M.left, x2: W - M.right, y1: level, y2: level}),
      s("text", {class: "tick", x: M.left - 6, y: level + 4, "text-anchor": "end"}, format(top * fraction)),
    );
  }
  svg.append(
    s("text", {class: "tick", x: M.left, y: H - 6}, clock(from)),
    s("text", {class: "tick", x: W - M.right, y: H - 6, "text-anchor": "end"}, clock(to)),
  );
  const radius = Math.max(...series.map((line) => line.points.length)) > 60 ? 1.2 : 2.5;
  for (const line of series) {
    let d = "";
    let pen = "M";
    const dots = s("g", {class: `dots c${line.index % 6}`});
    for (const [ms, value] of line.points) {
      if (value === null) {
        pen = "M";
        continue;
      }
      const px = x(ms).toFixed(1);
      const py = y(value).toFixed(1);
      d += `${pen}${px},${py} `;
      pen = "L";
      dots.append(
        s("circle", {cx: px, cy: py, r: radius}, s("title", {}, `${line.name} ${clock(ms)}: ${format(value)}`)),
      );
    }
    svg.append(s("path", {class: `line c${line.index % 6}`, d: d.trim(), "data-variant": line.name}), dots);
  }
  figure.append(
    svg,
    h(
      "ul",
      {class: "legend"},
      series.map((line) => h("li", {}, h("span", {class: `swatch c${line.index % 6}`, "aria-hidden": "true"}), line.name)),
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
