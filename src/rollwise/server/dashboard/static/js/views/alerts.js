// Alert rules with their state, and the latest state changes across all rules.

import {api, can, describe} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {field, showErrors} from "../forms.js";
import {duration, percent, relative, seconds, time} from "../format.js";
import {metricFormat} from "./evidence.js";

const enc = encodeURIComponent;

function condition(rule) {
  const format = metricFormat(rule.metric);
  if (rule.comparison === "increase_above") {
    return `${rule.metric} more than ${percent(rule.threshold)} above ${rule.baseline || "the baseline"}`;
  }
  return `${rule.metric} ${rule.comparison} ${format(rule.threshold)}`;
}

function scope(rule) {
  if (!rule.flag) return `${rule.environment}, all flags`;
  return `${rule.environment} · ${rule.flag}${rule.variant ? ` · ${rule.variant}` : ""}`;
}

const METRICS = ["error_rate", "success_rate", "latency_p50", "latency_p95", "latency_p99", "mismatch_rate"];

/** A new alert rule (write tokens): the same fields as POST /alert-rules. */
function ruleForm(done) {
  const summary = h("div", {class: "notice", role: "alert", id: "rule-message"});
  const input = (attrs) => h("input", {type: "text", ...attrs});
  const name = input({maxlength: "64"});
  const environment = input({value: "production"});
  const flag = input({placeholder: "empty: all flags"});
  const variant = input({placeholder: "empty: all variants"});
  const metric = h("select", {}, METRICS.map((m) => h("option", {value: m}, m)));
  const comparison = h("select", {}, ["above", "below", "increase_above"].map((c) => h("option", {value: c}, c)));
  const threshold = input({inputmode: "decimal", placeholder: "0.05 (rates and increases are fractions)"});
  const window = input({value: "5m"});
  const hold = input({value: "0s"});
  const severity = h("select", {}, ["warning", "critical", "info"].map((v) => h("option", {value: v}, v)));
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-label": "new alert rule"},
    field("rule-name", "Name", name),
    field("rule-environment", "Environment", environment),
    field("rule-flag", "Flag", flag),
    field("rule-variant", "Variant", variant),
    field("rule-metric", "Metric", metric),
    field("rule-comparison", "Comparison", comparison, "increase_above: more than the threshold (a fraction) above the baseline variant"),
    field("rule-threshold", "Threshold", threshold),
    field("rule-window", "Window", window),
    field("rule-for", "Held for", hold),
    field("rule-severity", "Severity", severity),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Add rule")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {name: name.value.trim(), environment: environment.value.trim(), metric: metric.value, comparison: comparison.value,
      threshold: threshold.value.trim() === "" ? null : Number(threshold.value), window: window.value.trim(), for: hold.value.trim(), severity: severity.value};
    if (flag.value.trim()) body.flag = flag.value.trim();
    if (variant.value.trim()) body.variant = variant.value.trim();
    try {
      await api("alert-rules", {method: "POST", body});
      fill(summary, h("p", {class: "ok"}, `Added ${body.name}.`));
      done();
    } catch (error) {
      showErrors(form, summary, error, {name: "rule-name", environment: "rule-environment", flag: "rule-flag", variant: "rule-variant", metric: "rule-metric",
        comparison: "rule-comparison", threshold: "rule-threshold", window: "rule-window", for: "rule-for", severity: "rule-severity"});
    }
  });
  return h("details", {class: "raw card"}, h("summary", {}, "New alert rule"), summary, form);
}

export function mount({root, refresh}) {
  const writer = can("write");
  const rules = h("section", {class: "card", "aria-labelledby": "rules-title"});
  const events = h("section", {class: "card", "aria-labelledby": "events-title"});
  const notice = h("div", {class: "notice", role: "alert"});
  fill(root, h("h1", {tabindex: "-1"}, "Alerts"), writer ? ruleForm(() => refresh()) : null, notice, rules, events);

  async function remove(rule) {
    if (!window.confirm(`Delete alert rule ${rule.name}?`)) return;
    try {
      await api(`alert-rules/${enc(rule.name)}`, {method: "DELETE", version: rule.version});
      fill(notice, h("p", {class: "ok"}, `Deleted ${rule.name}.`));
    } catch (error) {
      fill(notice, h("p", {class: "error"}, `Could not delete ${rule.name}: ${describe(error)}`));
    }
    refresh();
  }
  return {
    async refresh() {
      const list = await api("alert-rules");
      const perRule = await Promise.all(list.map((rule) => api(`alert-rules/${enc(rule.name)}/events?limit=20`)));
      const head = ["Rule", "Scope", "Condition", "Window / for", "Severity", "State", "Last value", "Evaluated", ...(writer ? [""] : [])];
      fill(
        rules,
        h("h2", {id: "rules-title"}, "Rules"),
        list.length === 0
          ? h("p", {class: "muted"}, "No alert rules. Create one with POST /api/v1/alert-rules.")
          : h("div", {class: "table-wrap"}, h(
              "table",
              {class: "rules"},
              h("thead", {}, h("tr", {}, head.map((t) => h("th", {scope: "col"}, t)))),
              h(
                "tbody",
                {},
                list.map((rule) =>
                  h(
                    "tr",
                    {"data-rule": rule.name},
                    h("th", {scope: "row"}, rule.name, rule.description ? h("div", {class: "muted"}, rule.description) : null),
                    h("td", {}, scope(rule)),
                    h("td", {}, condition(rule)),
                    h("td", {}, `${duration(rule.window)} / ${duration(rule.for)}`),
                    h("td", {}, badge(rule.severity)),
                    h("td", {}, rule.enabled ? badge(rule.state) : badge("disabled", "muted"), rule.state_since ? h("div", {class: "muted"}, `since ${relative(rule.state_since)}`) : null),
                    h("td", {class: "num"}, rule.last_value === null ? "–" : metricFormat(rule.metric)(rule.last_value)),
                    h("td", {}, relative(rule.evaluated_at)),
                    writer ? h("td", {}, h("button", {type: "button", class: "small danger", onclick: () => remove(rule)}, "Delete")) : null,
                  ),
                ),
              ),
            )),
      );
      const recent = perRule.flat().sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.id - a.id)).slice(0, 50);
      fill(
        events,
        h("h2", {id: "events-title"}, "Recent events"),
        recent.length === 0
          ? h("p", {class: "muted"}, "No state changes yet.")
          : h("div", {class: "table-wrap"}, h(
              "table",
              {class: "events"},
              h("thead", {}, h("tr", {}, ["When", "Rule", "Change", "Value", "Baseline", "Reason"].map((t) => h("th", {scope: "col"}, t)))),
              h(
                "tbody",
                {},
                recent.map((event) => {
                  const rule = list.find((r) => r.name === event.rule);
                  const format = rule ? metricFormat(rule.metric) : seconds;
                  return h(
                    "tr",
                    {},
                    h("td", {}, time(event.at)),
                    h("td", {}, event.rule),
                    h("td", {}, badge(event.from_state), " → ", badge(event.to_state)),
                    h("td", {class: "num"}, event.value === null ? "–" : format(event.value)),
                    h("td", {class: "num"}, event.baseline_value === null ? "–" : format(event.baseline_value)),
                    h("td", {}, event.reason),
                  );
                }),
              ),
            )),
      );
    },
  };
}
