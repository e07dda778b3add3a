// One experiment: its definition (state, arms and weights, hypothesis, metrics), then the
// sample-ratio check — before any result, because a mismatch voids them all — then one table
// per metric with each arm against control (estimate, lift and its interval drawn around
// zero, p-value, chance to win, significant or not), the guardrails, and the decision form
// (write tokens): start a draft, stop a running experiment with a decision.

import {api, can, describe, query} from "../api.js";
import {intervalBar, niceMax, shareBar} from "../chart.js";
import {badge, fill, h} from "../dom.js";
import {field} from "../forms.js";
import {bp, duration, number, percent, relative, time} from "../format.js";
import {decisionText} from "./experiments.js";

const enc = encodeURIComponent;
const ROLE_TITLE = {primary: "Primary", secondary: "Secondary", guardrail: "Guardrail"};

/** A signed percent: 0.1234 → "+12.3%". */
function signed(fraction) {
  if (fraction === null || fraction === undefined) return "–";
  return `${fraction > 0 ? "+" : fraction < 0 ? "−" : ""}${percent(Math.abs(fraction))}`;
}

/** A metric's value per unit: a rate for a proportion, a number otherwise. */
function valueText(kind, value) {
  return kind === "proportion" ? percent(value) : number(value);
}

/** The absolute difference: percentage points for a proportion. */
function absoluteText(kind, value) {
  if (value === null || value === undefined) return "–";
  if (kind === "proportion") return `${value > 0 ? "+" : value < 0 ? "−" : ""}${Number((Math.abs(value) * 100).toPrecision(3))} pp`;
  return `${value > 0 ? "+" : value < 0 ? "−" : ""}${number(Math.abs(value))}`;
}

/** A probability near certainty reads as such, never a rounded "100%". */
function chance(p) {
  if (p === null || p === undefined) return "–";
  if (p > 0.999) return "> 99.9%";
  if (p < 0.001) return "< 0.1%";
  return percent(p);
}

function pValue(p) {
  if (p === null || p === undefined) return "–";
  return p < 0.0001 ? "< 0.0001" : String(Number(p.toPrecision(2)));
}

/** better / worse / not significant, from the engine's own verdict. */
function outcome(arm) {
  if (!arm.significant) return {word: "not significant", kind: "neutral", badge: "muted"};
  if (arm.improved === true) return {word: "better", kind: "good", badge: "ok"};
  if (arm.improved === false) return {word: "worse", kind: "bad", badge: "fail"};
  return {word: "significant", kind: "neutral", badge: "info"};
}

function metricSpecText(spec) {
  const what = spec.event ?? `sql (${spec.connection_env})`;
  const parts = [`${spec.kind} of ${what}`];
  if (spec.denominator_event) parts[0] = `ratio ${what} / ${spec.denominator_event}`;
  parts.push(`${spec.direction} is better`);
  if (spec.capping !== null && spec.capping !== undefined) parts.push(`capped at ${number(spec.capping)}`);
  if (spec.cuped) parts.push("CUPED");
  if (spec.threshold !== null && spec.threshold !== undefined) parts.push(`tolerates ${percent(spec.threshold)} worse`);
  if (spec.target_effect !== null && spec.target_effect !== undefined) parts.push(`target effect ${percent(spec.target_effect)}`);
  return parts.join(", ");
}

function definitionCard(x) {
  const d = x.definition;
  const arms = Object.keys(d.arms);
  const control = d.control || arms[0];
  const parts = arms.map((arm, index) => ({label: arm, value: d.arms[arm], index}));
  const metrics = [...d.primary.map((m) => ["primary", m]), ...d.secondary.map((m) => ["secondary", m]), ...d.guardrails.map((m) => ["guardrail", m])];
  return h(
    "section",
    {class: "card", "aria-labelledby": "definition-title"},
    h("h2", {id: "definition-title"}, "Definition"),
    h(
      "dl",
      {class: "facts"},
      h("dt", {}, "State"), h("dd", {}, badge(x.state), x.decision ? ` decision: ${decisionText(x.decision)}${x.decision.reason ? ` — ${x.decision.reason}` : ""}` : ""),
      h("dt", {}, "Flag"), h("dd", {}, h("a", {href: `#/flags/${enc(x.flag)}${query({environment: x.environment})}`}, x.flag), ` in ${x.environment}`),
      h("dt", {}, "Hypothesis"), h("dd", {}, d.hypothesis || "–"),
      h("dt", {}, "Arms"), h("dd", {}, shareBar(parts, 10000, `arms: ${parts.map((p) => `${p.label} ${bp(p.value)}`).join(", ")}`),
        h("ul", {class: "arms"}, parts.map((p) => h("li", {"data-arm": p.label}, h("span", {class: `swatch c${p.index % 6}`, "aria-hidden": "true"}), `${p.label} ${bp(p.value)}`, p.label === control ? " (control)" : "")))),
      h("dt", {}, "Unit"), h("dd", {}, d.unit || "the flag's"),
      h("dt", {}, "Planned"), h("dd", {}, d.planned_duration ? duration(d.planned_duration) : "–"),
      h("dt", {}, "Started"), h("dd", {}, x.started_at ? `${time(x.started_at)} (${relative(x.started_at)})` : "not yet"),
      x.stopped_at ? [h("dt", {}, "Stopped"), h("dd", {}, `${time(x.stopped_at)} (${relative(x.stopped_at)})`)] : null,
      h("dt", {}, "Created by"), h("dd", {}, x.created_by),
    ),
    h("h3", {}, "Metrics"),
    h("ul", {class: "metric-specs"}, metrics.map(([role, m]) => h("li", {}, badge(role, role === "guardrail" ? "warning" : role === "primary" ? "info" : "muted"), " ", h("strong", {}, m.key), `: ${metricSpecText(m)}`))),
  );
}

/** The sample-ratio check: a banner before any result. */
function sampleRatio(check) {
  const arms = Object.keys(check.observed || {});
  const counts = arms.map((arm) => `${arm} ${number(check.observed[arm])} (expected ${number(Math.round(check.expected[arm]))})`).join(", ");
  const excluded = check.excluded_units ? ` ${number(check.excluded_units)} units seen in two arms were left out.` : "";
  if (check.mismatch) {
    return h("div", {class: "srm srm-bad", role: "alert", id: "srm"},
      h("strong", {}, "Sample ratio mismatch: do not trust the results below."),
      h("p", {}, `The exposed units do not match the planned weights (chi-square p = ${pValue(check.p_value)}, below ${check.threshold}): ${counts}.${excluded} Find the cause (a redirect losing users in one arm, bots, exposures logged on one path only, a changed split) before reading any lift.`));
  }
  return h("div", {class: "srm srm-ok", id: "srm"},
    h("strong", {}, "Sample ratio as planned."),
    h("span", {}, ` Units per arm match the weights (chi-square p = ${pValue(check.p_value)}, a mismatch is p < ${check.threshold}): ${counts}.${excluded}`));
}

function metricTable(metric, results, threshold) {
  // a guardrail's tolerance in the harmful direction: worse than -t (higher is better) or +t
  const tolerance = metric.role === "guardrail" && typeof threshold === "number" ? (metric.direction === "lower" ? threshold : -threshold) : null;
  const extent = Math.max(0, Math.abs(tolerance || 0), ...metric.arms.flatMap((a) => [a.relative.lower, a.relative.upper, a.relative.estimate]).filter((v) => typeof v === "number").map(Math.abs));
  const scale = niceMax(extent) || 0.1;
  const head = ["Arm", "Units", "Value", "Change", "Lift (interval)", "", metric.role === "guardrail" ? "p-value" : "p-value (adjusted)", "Chance to win", "Result"];
  const level = `${Number(((1 - results.alpha) * 100).toPrecision(3))}%`;
  return h(
    "section",
    {class: "card metric", "data-metric": metric.metric, "aria-labelledby": `metric-${metric.metric}`},
    h("h4", {id: `metric-${metric.metric}`}, metric.metric, " ", badge(metric.role, metric.role === "guardrail" ? "warning" : metric.role === "primary" ? "info" : "muted")),
    h("p", {class: "muted small"}, `${metric.kind}, ${metric.direction} is better; each arm against ${results.control}; ${level} ${results.sequential ? "always-valid" : "fixed-horizon"} interval of the relative lift (${metric.method}), the axis ±${percent(scale)}${tolerance === null ? "" : `; dashed: the tolerance, ${percent(Math.abs(tolerance))} worse`}.`),
    h(
      "div",
      {class: "table-wrap"},
      h(
        "table",
        {class: "results"},
        h("thead", {}, h("tr", {}, head.map((t) => h("th", {scope: "col"}, t)))),
        h(
          "tbody",
          {},
          h("tr", {"data-arm": results.control, class: "control"},
            h("th", {scope: "row"}, results.control, h("div", {class: "muted small"}, "control")),
            h("td", {class: "num"}, number(metric.control.units)),
            h("td", {class: "num"}, valueText(metric.kind, metric.control.value)),
            h("td", {colspan: "6", class: "muted"}, "the baseline the arms are compared with")),
          metric.arms.map((arm) => {
            const result = outcome(arm);
            const r = arm.relative;
            const interval = `${signed(r.lower)} to ${signed(r.upper)}`;
            const p = metric.role === "guardrail" ? r.p_value : arm.adjusted_p_value;
            return h(
              "tr",
              {"data-arm": arm.arm},
              h("th", {scope: "row"}, arm.arm),
              h("td", {class: "num"}, number(arm.units)),
              h("td", {class: "num"}, valueText(metric.kind, arm.value)),
              h("td", {class: "num"}, absoluteText(metric.kind, arm.absolute.estimate)),
              h("td", {class: "num lift"}, h("strong", {}, signed(r.estimate)), h("div", {class: "muted small"}, `[${interval}]`)),
              h("td", {}, intervalBar({lower: r.lower, upper: r.upper, estimate: r.estimate, scale, kind: result.kind, limit: tolerance, label: `${arm.arm}: lift ${signed(r.estimate)}, interval ${interval}${tolerance === null ? "" : `, tolerance ${signed(tolerance)}`}`})),
              h("td", {class: "num"}, pValue(p)),
              h("td", {class: "num"}, chance(arm.bayesian.chance_to_win)),
              h("td", {}, badge(result.word, result.badge)),
            );
          }),
        ),
      ),
    ),
  );
}

function guardrailsCard(report, sequential) {
  if (!report.verdicts.length) return null;
  return h(
    "section",
    {class: "card", "aria-labelledby": "guardrails-title", id: "guardrails"},
    h("h2", {id: "guardrails-title"}, "Guardrails"),
    h("p", {class: report.action === "stop" ? "error" : "muted"}, report.action === "stop" ? `Stop: ${report.reason}` : `Continue: ${report.reason}`),
    sequential || report.verdicts.every((v) => !/sequential|mixture/i.test(v.method || ""))
      ? null
      : h("p", {class: "muted small"}, "Guardrails are judged on always-valid (sequential) intervals, safe at every look since they are watched continuously: wider than the fixed-horizon intervals in the table above."),
    h("ul", {class: "guardrails"}, report.verdicts.map((v) => h("li", {"data-guardrail": `${v.metric}/${v.arm}`}, badge(v.status, v.status === "inconclusive" ? "warning" : v.status), " ", v.reason))),
  );
}

/** Stop with a decision (write tokens): ship an arm, keep control, or inconclusive. */
function decisionForm(x, notice, done) {
  const arms = Object.keys(x.definition.arms);
  const control = x.definition.control || arms[0];
  const kind = h("select", {}, [["ship", "ship an arm"], ["keep_control", "keep control"], ["inconclusive", "inconclusive"]].map(([value, text]) => h("option", {value}, text)));
  const arm = h("select", {}, arms.filter((a) => a !== control).map((a) => h("option", {value: a}, a)));
  const reason = h("textarea", {rows: "2", maxlength: "2000", placeholder: "why: kept with the decision"});
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-label": "stop with a decision"},
    field("decision-kind", "Decision", kind),
    field("decision-arm", "Arm to ship", arm),
    field("decision-reason", "Reason", reason),
    h("div", {class: "actions"}, h("button", {type: "submit", class: "danger"}, "Stop the experiment")),
  );
  const sync = () => {
    for (const node of form.querySelectorAll("#decision-arm, label[for=decision-arm]")) node.hidden = kind.value !== "ship";
  };
  kind.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const decision = {kind: kind.value, reason: reason.value.trim()};
    if (kind.value === "ship") decision.arm = arm.value;
    if (!window.confirm(`Stop ${x.key} with the decision "${decisionText(decision)}"? Its split stays as it is, unlocked.`)) return;
    try {
      await api(`experiments/${enc(x.key)}/stop`, {method: "POST", body: {decision}, version: x.version});
      reason.value = "";
      fill(notice, h("p", {class: "ok"}, `Stopped ${x.key}: ${decisionText(decision)}.`));
    } catch (error) {
      // on the page, not in this form: a refusal because the experiment changed (409)
      // redraws the form, and the reason must outlive it
      fill(notice, h("p", {class: "error"}, `Could not stop ${x.key}: ${describe(error)}`));
    }
    done();
  });
  return h("section", {class: "card", "aria-labelledby": "decision-title", id: "decision"}, h("h2", {id: "decision-title"}, "Decision"),
    h("p", {class: "muted"}, "Stopping records the decision and unlocks the flag's split, leaving it as it is: ship the winner with a rollout or a flag change."), form);
}

export function mount({root, params, query: search, refresh}) {
  const key = params[0];
  const writer = can("write");
  const notice = h("div", {class: "notice", role: "alert", id: "experiment-message"});
  const heading = h("h1", {tabindex: "-1"}, `Experiment ${key}`);
  const definition = h("div");
  const actions = h("div");
  const decisionSlot = h("div");
  const sequential = h("input", {type: "checkbox", id: "results-sequential", checked: search.get("sequential") === "true"});
  const correction = h("select", {id: "results-correction"}, [["holm", "Holm"], ["benjamini_hochberg", "Benjamini–Hochberg"], ["none", "none"]].map(([v, t]) => h("option", {value: v}, t)));
  correction.value = search.get("correction") || "holm";
  const settings = h("form", {class: "controls", "aria-label": "how to analyse"},
    h("label", {for: "results-sequential"}, sequential, " Sequential (always-valid: safe to look often)"),
    h("label", {for: "results-correction"}, "Correction"), correction);
  settings.addEventListener("change", () => {
    history.replaceState(null, "", `#/experiments/${enc(key)}${query({sequential: sequential.checked ? "true" : "", correction: correction.value === "holm" ? "" : correction.value})}`);
    refresh();
  });
  settings.addEventListener("submit", (event) => event.preventDefault());
  const resultsBody = h("div", {id: "results"});
  const results = h("section", {"aria-labelledby": "results-title"}, h("h2", {id: "results-title"}, "Results"), settings, resultsBody);
  let drawn = "";
  let shown = "";
  fill(root, h("p", {class: "crumbs"}, h("a", {href: "#/experiments"}, "Experiments")), heading, notice, definition, actions, results, decisionSlot);

  async function start(x) {
    if (!window.confirm(`Start ${x.key}? The split of ${x.flag} in ${x.environment} becomes the arms' weights and stays locked until it stops.`)) return;
    try {
      await api(`experiments/${enc(x.key)}/start`, {method: "POST", body: {}, version: x.version});
      fill(notice, h("p", {class: "ok"}, `Started ${x.key}.`));
    } catch (error) {
      fill(notice, h("p", {class: "error"}, `Could not start ${x.key}: ${describe(error)}`));
    }
    refresh();
  }

  return {
    async refresh() {
      const x = await api(`experiments/${enc(key)}`);
      const shape = JSON.stringify([x.version, x.state, x.decision]);
      if (shape !== drawn) {
        drawn = shape;
        fill(definition, definitionCard(x));
        fill(
          actions,
          writer && x.legal_actions.includes("start")
            ? h("div", {class: "buttons"}, h("button", {type: "button", onclick: () => start(x)}, "Start the experiment"))
            : null,
        );
        fill(decisionSlot, writer && x.legal_actions.includes("stop") ? decisionForm(x, notice, () => refresh()) : null);
      }
      settings.hidden = x.state === "draft";
      if (x.state === "draft") {
        fill(resultsBody, h("p", {class: "muted"}, "A draft has no results: they start when the experiment starts."));
        shown = "";
        return;
      }
      const data = await api(`experiments/${enc(key)}/results${query({sequential: sequential.checked ? "true" : "", correction: correction.value})}`);
      // redraw only what changed: a reader's place in the tables stays
      const text = JSON.stringify(data);
      if (text === shown) return;
      shown = text;
      const r = data.results;
      const byRole = (role) => r.metrics.filter((m) => m.role === role);
      const thresholds = Object.fromEntries(x.definition.guardrails.map((m) => [m.key, m.threshold]));
      fill(
        resultsBody,
        sampleRatio(r.sample_ratio),
        h("p", {class: "muted small"}, `${number(Object.values(data.units).reduce((a, b) => a + b, 0))} units exposed; p-values ${r.correction === "none" ? "not adjusted" : `adjusted (${r.correction}) across primary and secondary metrics and arms`}; alpha ${r.alpha}.`),
        ["primary", "secondary", "guardrail"].map((role) =>
          byRole(role).length ? [h("h3", {class: "role-title"}, `${ROLE_TITLE[role]} metrics`), byRole(role).map((m) => metricTable(m, r, thresholds[m.metric]))] : null),
        guardrailsCard(r.guardrails, r.sequential),
      );
    },
  };
}
