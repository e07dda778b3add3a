// The form for one alert rule, new or edited: the fields of POST /alert-rules. Editing
// sends what PATCH /alert-rules/{name} accepts (every field but the name, which cannot
// change) with the version the form was filled from, so a rule changed elsewhere meanwhile
// is refused (409) and the form offers to reload it rather than overwrite the other change.

import {api, describe} from "../api.js";
import {fill, h} from "../dom.js";
import {clearErrors, field, showErrors} from "../forms.js";

const enc = encodeURIComponent;
const METRICS = ["error_rate", "success_rate", "latency_p50", "latency_p95", "latency_p99", "mismatch_rate", "custom"];
const COMPARISONS = ["above", "below", "increase_above"];
const SEVERITIES = ["warning", "critical", "info"];
const OPTIONAL = ["flag", "variant", "baseline", "query"];

/** API paths (pydantic's and the rule's own checks) → the field showing their error. */
const FIELDS = {name: "rule-name", environment: "rule-environment", flag: "rule-flag", variant: "rule-variant", baseline: "rule-baseline",
  metric: "rule-metric", comparison: "rule-comparison", threshold: "rule-threshold", window: "rule-window", for: "rule-for",
  min_samples: "rule-min-samples", severity: "rule-severity", query: "rule-query", description: "rule-description"};

/** A number typed in a form: a number when it reads as one, else the text as typed (the
 * API then names the field and says what is wrong, rather than receiving null). */
function numberOrText(text) {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : trimmed;
}

/** Seconds as text the API reads back exactly (600 → "10m", 5400 → "1h30m", 1.5 → "1.5s"):
 * the list's rounded "1h 30m" would change a rule that is saved unchanged. */
export function exactDuration(total) {
  if (!Number.isInteger(total)) return `${total}s`;
  if (total === 0) return "0s";
  let rest = total;
  const parts = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join("");
}

function choices(values) {
  return h("select", {}, values.map((v) => h("option", {value: v}, v)));
}

/** Select ``value`` in ``select``, adding it as an option when this page does not know it. */
function choose(select, value) {
  if (![...select.options].some((option) => option.value === value)) select.append(h("option", {value}, value));
  select.value = value;
}

/** The alert rule form. ``done(message)`` runs after a save (message null for a new rule:
 * the form shows its own); ``cancel()`` when an edit is given up; ``reloaded()`` after the
 * stored rule was read again (the page's list is as stale as the form was). Returns {node, edit(rule), reset(), adopt(rule), changedElsewhere(rule), editing}. */
export function alertForm({done, cancel, reloaded}) {
  const title = h("h2", {id: "rule-form-title"}, "New alert rule");
  const summary = h("div", {class: "notice", role: "alert", id: "rule-message"});
  const stale = h("div", {class: "notice", role: "alert", id: "rule-stale"});
  const input = (attrs) => h("input", {type: "text", spellcheck: "false", ...attrs});
  const name = input({maxlength: "64"});
  const environment = input({value: "production"});
  const flag = input({placeholder: "empty: all flags"});
  const variant = input({placeholder: "empty: all variants"});
  const baseline = input({placeholder: "empty: the flag's baseline"});
  const metric = choices(METRICS);
  const comparison = choices(COMPARISONS);
  const threshold = input({inputmode: "decimal", placeholder: "e.g. 0.05"});
  const window = input({value: "5m"});
  const hold = input({value: "0s"});
  const minSamples = input({inputmode: "numeric", value: "100"});
  const severity = choices(SEVERITIES);
  const metricQuery = input({placeholder: "custom metric only"});
  const description = input({maxlength: "10000"});
  const submit = h("button", {type: "submit"}, "Add rule");
  const quit = h("button", {type: "button", class: "secondary", hidden: true}, "Cancel");
  const optional = {flag, variant, baseline, query: metricQuery};
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-labelledby": "rule-form-title"},
    field("rule-name", "Name", name),
    field("rule-environment", "Environment", environment),
    field("rule-flag", "Flag", flag),
    field("rule-variant", "Variant", variant),
    field("rule-metric", "Metric", metric),
    field("rule-comparison", "Comparison", comparison, "increase_above: more than the threshold (a fraction) above the baseline variant"),
    field("rule-baseline", "Baseline", baseline, "increase_above only: the variant compared with"),
    field("rule-threshold", "Threshold", threshold, "Rates and increases as fractions (0.05 = 5%), latencies in seconds"),
    field("rule-window", "Window", window, "How much recent traffic each evaluation reads: 90s, 5m, 1h"),
    field("rule-for", "Held for", hold, "How long the condition must hold before the rule fires (0s: at once)"),
    field("rule-min-samples", "Minimum samples", minSamples, "Fewer requests in the window: the rule waits instead of judging"),
    field("rule-severity", "Severity", severity, "Its alert.firing notification goes to every channel that wants alert.* at this severity (see Channels)"),
    field("rule-query", "Query", metricQuery, "The custom metric's query (PromQL with the prometheus provider)"),
    field("rule-description", "Description", description),
    h("div", {class: "actions"}, submit, quit),
  );
  const box = h("details", {class: "card new-rule", id: "new-rule"}, h("summary", {}, title), stale, summary, form);
  let editing = null; // the rule being edited, as the API listed it

  /** What the form says, as the API takes it; empty optional fields are left out of a new
   * rule and cleared (null) in an edit, an empty required one sent as typed for the API to name. */
  function body() {
    const out = {environment: environment.value.trim(), metric: metric.value, comparison: comparison.value,
      threshold: numberOrText(threshold.value) ?? "", window: window.value.trim(), for: hold.value.trim(),
      min_samples: numberOrText(minSamples.value), severity: severity.value, description: description.value.trim()};
    for (const key of OPTIONAL) {
      const text = optional[key].value.trim();
      if (text) out[key] = text;
      else if (editing) out[key] = null;
    }
    if (out.min_samples === null) {
      if (editing) out.min_samples = "";
      else delete out.min_samples; // the API's default
    }
    return out;
  }

  /** Say that the rule changed (or went) elsewhere, with a way to load what is stored now. */
  function sayStale(text) {
    const reload = h("button", {type: "button", class: "small", id: "rule-reload"}, "Reload the rule");
    reload.addEventListener("click", async () => {
      const wanted = editing && editing.name;
      if (!wanted) return;
      try {
        edit(await api(`alert-rules/${enc(wanted)}`));
        reloaded();
      } catch (error) {
        if (error.status === 404) {
          reset();
          fill(stale, h("p", {class: "error"}, `${wanted} was deleted elsewhere.`));
          reloaded();
        } else {
          fill(stale, h("p", {class: "error"}, `Could not reload ${wanted}: ${describe(error)}`));
        }
      }
    });
    fill(stale, h("p", {class: "error changed-elsewhere"}, text, " ", reload));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, summary);
    const data = body();
    submit.disabled = true;
    try {
      if (editing) {
        const saved = editing.name;
        await api(`alert-rules/${enc(saved)}`, {method: "PATCH", body: {...data, version: editing.version}});
        reset();
        box.open = false;
        done(`Saved ${saved}.`);
      } else {
        const added = name.value.trim();
        await api("alert-rules", {method: "POST", body: {name: added, ...data}});
        reset();
        fill(summary, h("p", {class: "ok"}, `Added ${added}.`));
        done(null);
      }
    } catch (error) {
      showErrors(form, summary, error, FIELDS);
      if (editing && error.status === 409) {
        sayStale(`${editing.name} changed elsewhere since this form was filled (version ${editing.version}); your changes were not saved. Reload it to see the stored rule, then make your change again.`);
      } else if (editing && error.status === 404) {
        sayStale(`${editing.name} no longer exists: it was deleted elsewhere.`);
      }
    } finally {
      submit.disabled = false;
    }
  });
  quit.addEventListener("click", () => {
    reset();
    box.open = false;
    cancel();
  });

  /** Back to an empty "new alert rule" form. */
  function reset() {
    editing = null;
    form.reset();
    clearErrors(form, summary);
    stale.replaceChildren();
    name.disabled = false;
    title.textContent = "New alert rule";
    submit.textContent = "Add rule";
    quit.hidden = true;
  }

  /** Fill the form with ``rule`` to change it (its name stays). */
  function edit(rule) {
    reset();
    editing = rule;
    name.value = rule.name;
    name.disabled = true;
    environment.value = rule.environment;
    for (const key of OPTIONAL) optional[key].value = rule[key] ?? "";
    choose(metric, rule.metric);
    choose(comparison, rule.comparison);
    choose(severity, rule.severity);
    threshold.value = String(rule.threshold);
    window.value = exactDuration(rule.window);
    hold.value = exactDuration(rule.for);
    minSamples.value = String(rule.min_samples);
    description.value = rule.description || "";
    title.textContent = `Edit alert rule ${rule.name}`;
    submit.textContent = "Save changes";
    quit.hidden = false;
    box.open = true;
    threshold.focus();
  }

  /** The list's fresh copy of the rule being edited: a newer version (or none) is said
   * beside the form at once, before a save is refused for it. */
  function changedElsewhere(rule) {
    if (!editing || stale.firstChild) return;
    if (!rule) sayStale(`${editing.name} no longer exists: it was deleted elsewhere.`);
    else if (rule.version !== editing.version) {
      sayStale(`${editing.name} changed elsewhere since this form was filled (version ${editing.version}, now ${rule.version}): saving would be refused.`);
    }
  }

  /** This page's own change of the rule being edited that the form does not send (enabled):
   * the edit goes on from the new version rather than being called stale. */
  function adopt(rule) {
    if (editing && editing.name === rule.name && rule.version === editing.version + 1) editing = rule;
  }

  reset();
  return {
    node: box,
    edit,
    reset,
    adopt,
    changedElsewhere,
    get editing() {
      return editing;
    },
  };
}
