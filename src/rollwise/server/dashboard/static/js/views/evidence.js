// Gate verdicts and their evidence (what the judge saw) as tables people can read.

import {badge, h} from "../dom.js";
import {number, percent, seconds} from "../format.js";

const RATES = new Set(["error_rate", "success_rate", "mismatch_rate"]);

/** How a value of ``metric`` reads: rates as percents, latencies in (milli)seconds. */
export function metricFormat(metric) {
  if (RATES.has(metric)) return (v) => percent(v);
  if (String(metric).startsWith("latency_")) return seconds;
  return number;
}

function side(metric, data) {
  if (!data) return "–";
  if (RATES.has(metric)) return `${percent(data.rate)} (${number(data.bad)} of ${number(data.trials)})`;
  if (String(metric).startsWith("latency_")) return `${seconds(data.quantile)} (n=${number(data.samples)})`;
  if ("value" in data) return `${number(data.value)} (n=${number(data.samples)})`;
  return JSON.stringify(data);
}

function limitText(metric, bound, limit) {
  if (bound === "max_increase") return `+${percent(limit)}`;
  return metricFormat(metric)(limit);
}

function check(metric, item) {
  const parts = [`${item.bound} ${limitText(metric, item.bound, item.limit)}: `, badge(item.verdict)];
  if (item.estimate !== undefined && item.estimate !== null) {
    const format = item.bound === "max_increase" && !String(metric).startsWith("latency_") && !RATES.has(metric) ? number : metricFormat(metric);
    parts.push(` estimate ${format(item.estimate)}`);
    if (item.allowed !== undefined && item.allowed !== null) parts.push(`, allowed ${format(item.allowed)}`);
  }
  return h("li", {}, parts);
}

/** A details/summary block with raw JSON, for whoever wants every number. */
export function rawJson(label, value) {
  return h("details", {class: "raw"}, h("summary", {}, label), h("pre", {}, JSON.stringify(value, null, 2)));
}

/** The gates of a judgement or a history row: [{gate, metric, verdict, reason, evidence}]. */
export function gatesTable(gates) {
  if (!gates || gates.length === 0) return h("p", {class: "muted"}, "No gate results.");
  return h(
    "table",
    {class: "gates"},
    h("thead", {}, h("tr", {}, ["Gate", "Verdict", "Canary", "Baseline", "Checks", "Reason"].map((t) => h("th", {scope: "col"}, t)))),
    h(
      "tbody",
      {},
      gates.map((gate) => {
        const evidence = gate.evidence || {};
        return h(
          "tr",
          {"data-gate": gate.gate},
          h("th", {scope: "row"}, gate.gate, gate.metric && gate.metric !== gate.gate ? h("div", {class: "muted"}, gate.metric) : null),
          h("td", {}, badge(gate.verdict)),
          h("td", {class: "num"}, side(gate.metric, evidence.canary)),
          h("td", {class: "num"}, side(gate.metric, evidence.baseline)),
          h("td", {}, h("ul", {class: "checks"}, (evidence.checks || []).map((item) => check(gate.metric, item)))),
          h("td", {}, gate.reason || ""),
        );
      }),
    ),
  );
}
