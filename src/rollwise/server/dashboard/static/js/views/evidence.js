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

/** A bound in words: a relative increase as "+50% of the baseline", an absolute difference
 * on a rate in percentage points (1 pp: from 1% to 2%, not to 1.01%). */
export function limitText(metric, bound, limit) {
  if (bound === "max_increase") return `≤ baseline +${percent(limit)} (relative)`;
  if (bound === "max_difference" && RATES.has(metric)) {
    const points = Number((limit * 100).toPrecision(3));
    return `≤ baseline + ${points} percentage point${points === 1 ? "" : "s"}`;
  }
  if (bound === "max_difference") return `≤ baseline + ${metricFormat(metric)(limit)}`;
  if (bound === "max") return `≤ ${metricFormat(metric)(limit)}`;
  if (bound === "min") return `≥ ${metricFormat(metric)(limit)}`;
  return `${bound} ${metricFormat(metric)(limit)}`;
}

/** What the statistical test compared, in words, next to the numbers it compared. */
function significance(metric, item) {
  const format = metricFormat(metric);
  if (item.test === "confidence_sequence_margin" && item.statistic !== undefined && item.threshold !== undefined) {
    const word = item.statistic > item.threshold ? "above: the regression is significant" : "not above: no significant regression (yet)";
    return (
      `Significance: the canary's bad rate is at least ${format(item.canary_bad_rate_lower_bound ?? item.statistic)} (lower confidence bound), ` +
      `and the most the bound allows, with the baseline's rate at its upper confidence bound ${format(item.baseline_bad_rate_upper_bound)}, is ${format(item.threshold)}: ${word}. ` +
      `"Allowed" is the same bound applied to the baseline's measured rate.`
    );
  }
  if (item.test === "conditional_binomial_mixture" && item.bad_rate_ratio_lower_bound !== undefined) {
    return `Significance: the canary's bad rate is at least ${number(item.bad_rate_ratio_lower_bound)}× the baseline's (lower confidence bound), against at most ${number(item.max_bad_rate_ratio)}× allowed; e-value ${number(item.statistic)} against ${number(item.threshold)}.`;
  }
  if (item.test === "one_sided_mixture" && item.confidence_sequence) {
    const [low, high] = item.confidence_sequence;
    return `Significance: the canary's value lies in ${format(low)} – ${format(high)} (confidence sequence); e-value ${number(item.statistic)} against ${number(item.threshold)}.`;
  }
  return null;
}

function check(metric, item) {
  const parts = [`${limitText(metric, item.bound, item.limit)}: `, badge(item.verdict)];
  if (item.estimate !== undefined && item.estimate !== null) {
    const format = item.bound === "max_increase" && !String(metric).startsWith("latency_") && !RATES.has(metric) ? number : metricFormat(metric);
    parts.push(` canary ${format(item.estimate)}`);
    if (item.allowed !== undefined && item.allowed !== null) parts.push(`, allowed ${format(item.allowed)} (the bound applied to the baseline's value)`);
  }
  const why = significance(metric, item);
  if (why) parts.push(h("div", {class: "muted small"}, why));
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
