// Start a rollout from a form: the spec the CLI takes (docs/rollouts.md), validated by the
// API; its errors are shown beside the field they name.

import {api, can} from "../api.js";
import {fill, h} from "../dom.js";
import {clearErrors, field, listOf, refused, showErrors} from "../forms.js";

const METRICS = ["error_rate", "success_rate", "latency_p50", "latency_p95", "latency_p99", "mismatch_rate"];
const BOUNDS = [
  ["max_difference", "at most baseline + (rates: percentage points; latency: seconds)"],
  ["max_increase", "at most baseline × (1 + this) (relative)"],
  ["max", "at most (absolute)"],
  ["min", "at least (absolute)"],
];

/** "10%/5m, 25%/5m, 100%" stays text: the API parses steps exactly as the CLI does. */
function gateRow(index, gate, onRemove) {
  const row = h("fieldset", {class: "rule-editor gate-row", "data-gate": String(index)});
  const name = h("input", {type: "text", class: "gate-name", value: gate.name || "", "aria-label": `gate ${index + 1} name`, placeholder: "name (optional)"});
  const metric = h("select", {class: "gate-metric", "aria-label": `gate ${index + 1} metric`}, METRICS.map((m) => h("option", {value: m, selected: m === gate.metric}, m)));
  const bound = h("select", {class: "gate-bound", "aria-label": `gate ${index + 1} bound`}, BOUNDS.map(([b, text]) => h("option", {value: b, selected: b === gate.bound}, `${b}: ${text}`)));
  const value = h("input", {type: "text", class: "gate-value", value: gate.value ?? "", "aria-label": `gate ${index + 1} value`, inputmode: "decimal", placeholder: "0.01"});
  const error = h("div", {class: "field-error", id: `gate-${index}-error`});
  row.append(
    h("legend", {}, `Gate ${index + 1}`),
    h("div", {class: "cond"}, name, metric, bound, value, h("button", {type: "button", class: "small danger", onclick: () => onRemove(row)}, "Remove gate")),
    error,
  );
  row.read = () => {
    const out = {metric: metric.value};
    if (name.value.trim()) out.name = name.value.trim();
    const number = Number(value.value);
    out[bound.value] = value.value.trim() === "" || Number.isNaN(number) ? value.value : number;
    return out;
  };
  return row;
}

export function mount({root, query: params}) {
  if (!can("write")) return refused(root, "Start a rollout", "write");
  const summary = h("div", {class: "notice", role: "alert", id: "rollout-errors"});
  const flag = h("select", {name: "flag"});
  const environment = h("select", {name: "environment"});
  const variant = h("select", {name: "variant"});
  const baseline = h("select", {name: "baseline"});
  const strategy = h("select", {name: "strategy"}, h("option", {value: "canary"}, "canary (steps)"), h("option", {value: "blue_green"}, "blue/green (one switch)"));
  const steps = h("input", {type: "text", name: "steps", value: params.get("steps") || "10%/5m, 25%/5m, 50%/5m, 100%"});
  const verify = h("input", {type: "text", name: "verify", value: "30m"});
  const minSamples = h("input", {type: "number", name: "min_samples", min: "1", value: "200"});
  const maxStep = h("input", {type: "text", name: "max_step_duration", placeholder: "e.g. 1h (empty: none)"});
  const onNoData = h("select", {name: "on_no_data"}, ["hold", "pause", "rollback"].map((v) => h("option", {value: v}, v)));
  const start = h("input", {type: "checkbox", name: "start", checked: true});
  const gates = h("div", {class: "gates-editor", id: "rollout-gates"});
  const removeGate = (row) => row.remove();
  gates.append(
    gateRow(0, {name: "errors", metric: "error_rate", bound: "max_difference", value: "0.01"}, removeGate),
    gateRow(1, {name: "latency", metric: "latency_p95", bound: "max_increase", value: "0.5"}, removeGate),
  );
  let flags = [];
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-label": "rollout spec"},
    field("rollout-flag", "Flag", flag),
    field("rollout-environment", "Environment", environment),
    field("rollout-variant", "Roll out", variant, "The variant that gets the traffic step by step"),
    field("rollout-baseline", "Baseline", baseline, "The variant it is compared with (default: the one serving most now)"),
    field("rollout-strategy", "Strategy", strategy),
    field("rollout-steps", "Steps", steps, "percent/bake, comma-separated: 10%/5m, 25%/5m, 100%"),
    field("rollout-verify", "Verify for", verify, "blue/green: how long the switch is watched"),
    h("div", {class: "actions"}, h("strong", {}, "Gates: a step passes when every gate passes")),
    h("div", {class: "actions"}, gates),
    h("div", {class: "actions"}, h("button", {type: "button", class: "secondary", onclick: () => gates.append(gateRow(gates.children.length, {metric: "error_rate", bound: "max_difference"}, removeGate))}, "Add gate")),
    field("rollout-min-samples", "Min samples", minSamples, "Requests per variant before a step can pass"),
    field("rollout-max-step", "Max step duration", maxStep, "A step without a verdict by then pauses"),
    field("rollout-no-data", "On no data", onNoData),
    field("rollout-start", "Start now", start, "Unticked: created pending, started later"),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Start rollout"), h("a", {class: "button secondary", href: "#/rollouts"}, "Cancel")),
  );
  const showStrategy = () => {
    const canary = strategy.value === "canary";
    for (const id of ["rollout-steps", "rollout-verify"]) {
      const on = id === "rollout-steps" ? canary : !canary;
      for (const node of form.querySelectorAll(`#${id}, label[for=${id}], #${id}-hint`)) node.hidden = !on;
    }
  };
  strategy.addEventListener("change", showStrategy);
  const showVariants = () => {
    const chosen = flags.find((f) => f.key === flag.value);
    const names = chosen ? chosen.variants : [];
    fill(variant, names.map((v, i) => h("option", {value: v, selected: i === names.length - 1}, v)));
    fill(baseline, h("option", {value: ""}, "(automatic)"), names.map((v) => h("option", {value: v}, v)));
  };
  flag.addEventListener("change", showVariants);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, summary);
    const spec = {flag: flag.value, environment: environment.value, variant: variant.value, gates: [...gates.querySelectorAll(".gate-row")].map((row) => row.read()), start: start.checked, on_no_data: onNoData.value};
    if (baseline.value) spec.baseline = baseline.value;
    spec.strategy = strategy.value === "canary" ? {type: "canary", steps: listOf(steps.value)} : {type: "blue_green", verify: verify.value.trim()};
    if (minSamples.value) spec.min_samples = Number(minSamples.value);
    if (maxStep.value.trim()) spec.max_step_duration = maxStep.value.trim();
    try {
      const created = await api("rollouts", {method: "POST", body: spec});
      location.hash = `#/rollouts/${created.id}`;
    } catch (error) {
      const placed = showErrors(form, summary, error, {
        flag: "rollout-flag", environment: "rollout-environment", variant: "rollout-variant", baseline: "rollout-baseline",
        strategy: "rollout-steps", "strategy.steps": "rollout-steps", "strategy.verify": "rollout-verify", gates: "rollout-gates",
        min_samples: "rollout-min-samples", max_step_duration: "rollout-max-step", on_no_data: "rollout-no-data",
      });
      for (const problem of placed) {
        const match = /^gates\.(\d+)/.exec(problem.path);
        const slot = match && form.querySelector(`.gate-row[data-gate="${match[1]}"] .field-error`);
        if (slot) slot.textContent = `${problem.path}: ${problem.message}`;
      }
    }
  });
  fill(root, h("p", {class: "crumbs"}, h("a", {href: "#/rollouts"}, "Rollouts"), " / new"), h("h1", {tabindex: "-1"}, "Start a rollout"), summary, form);
  showStrategy();
  let loaded = false;
  return {
    async refresh() {
      if (loaded) return; // a refresh never resets what someone is typing
      const [allFlags, environments] = await Promise.all([api("flags"), api("environments")]);
      flags = allFlags;
      fill(flag, flags.map((f) => h("option", {value: f.key, selected: f.key === params.get("flag")}, f.key)));
      fill(environment, environments.map((e) => h("option", {value: e.key, selected: e.key === (params.get("environment") || "production")}, e.name || e.key)));
      showVariants();
      loaded = true;
    },
  };
}

