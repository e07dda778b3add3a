// Alert rules with their state, and the latest state changes across all rules.

import {api} from "../api.js";
import {badge, fill, h} from "../dom.js";
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

export function mount({root}) {
  const rules = h("section", {class: "card", "aria-labelledby": "rules-title"});
  const events = h("section", {class: "card", "aria-labelledby": "events-title"});
  fill(root, h("h1", {tabindex: "-1"}, "Alerts"), rules, events);
  return {
    async refresh() {
      const list = await api("alert-rules");
      const perRule = await Promise.all(list.map((rule) => api(`alert-rules/${enc(rule.name)}/events?limit=20`)));
      const head = ["Rule", "Scope", "Condition", "Window / for", "Severity", "State", "Last value", "Evaluated"];
      fill(
        rules,
        h("h2", {id: "rules-title"}, "Rules"),
        list.length === 0
          ? h("p", {class: "muted"}, "No alert rules. Create one with POST /api/v1/alert-rules.")
          : h(
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
                  ),
                ),
              ),
            ),
      );
      const recent = perRule.flat().sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : b.id - a.id)).slice(0, 50);
      fill(
        events,
        h("h2", {id: "events-title"}, "Recent events"),
        recent.length === 0
          ? h("p", {class: "muted"}, "No state changes yet.")
          : h(
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
            ),
      );
    },
  };
}
