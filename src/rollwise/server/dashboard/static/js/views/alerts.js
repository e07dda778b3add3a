// Alert rules with their state, and the latest state changes across all rules. Write
// tokens add, edit (alert_form.js), disable, enable and delete rules.

import {api, can, describe} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {duration, percent, relative, seconds, time} from "../format.js";
import {alertForm} from "./alert_form.js";
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

export function mount({root, refresh}) {
  const writer = can("write");
  const rules = h("section", {class: "card", "aria-labelledby": "rules-title"});
  const events = h("section", {class: "card", "aria-labelledby": "events-title"});
  const notice = h("div", {class: "notice", role: "alert", id: "alert-notice"});
  const say = (kind, text) => fill(notice, h("p", {class: kind}, text));
  const form = writer
    ? alertForm({
        done: (message) => {
          if (message) say("ok", message);
          else notice.replaceChildren();
          refresh();
        },
        cancel: () => notice.replaceChildren(),
        reloaded: () => refresh(),
      })
    : null;
  fill(root, h("h1", {tabindex: "-1"}, "Alerts"), form ? form.node : null, notice, rules, events);

  function edit(rule) {
    notice.replaceChildren();
    form.edit(rule);
    form.node.scrollIntoView({block: "start"});
  }

  async function remove(rule) {
    if (!window.confirm(`Delete alert rule ${rule.name}?`)) return;
    try {
      await api(`alert-rules/${enc(rule.name)}`, {method: "DELETE", version: rule.version});
      if (form.editing && form.editing.name === rule.name) form.reset();
      fill(notice, h("p", {class: "ok"}, `Deleted ${rule.name}.`));
    } catch (error) {
      fill(notice, h("p", {class: "error"}, `Could not delete ${rule.name}: ${describe(error)}`));
    }
    refresh();
  }

  /** Stop (or resume) evaluating a rule: a disabled rule keeps its history and never fires. */
  async function toggle(rule) {
    const what = rule.enabled ? "disable" : "enable";
    try {
      const after = await api(`alert-rules/${enc(rule.name)}`, {method: "PATCH", body: {enabled: !rule.enabled, version: rule.version}});
      form.adopt(after); // an open edit of this rule sends no "enabled": it stays current
      fill(notice, h("p", {class: "ok"}, `${rule.name}: ${what}d.`));
    } catch (error) {
      fill(notice, h("p", {class: "error"}, `Could not ${what} ${rule.name}: ${describe(error)}`));
    }
    refresh();
  }

  function actions(rule) {
    return h("td", {}, h("div", {class: "buttons"},
      h("button", {type: "button", class: "small secondary", onclick: () => edit(rule), "aria-label": `Edit ${rule.name}`}, "Edit"),
      h("button", {type: "button", class: "small secondary", onclick: () => toggle(rule), "aria-label": `${rule.enabled ? "Disable" : "Enable"} ${rule.name}`}, rule.enabled ? "Disable" : "Enable"),
      h("button", {type: "button", class: "small danger", onclick: () => remove(rule), "aria-label": `Delete ${rule.name}`}, "Delete")));
  }
  return {
    async refresh() {
      const list = await api("alert-rules");
      if (form && form.editing) form.changedElsewhere(list.find((rule) => rule.name === form.editing.name));
      const perRule = await Promise.all(list.map((rule) => api(`alert-rules/${enc(rule.name)}/events?limit=20`)));
      const head = ["Rule", "Scope", "Condition", "Window / for", "Severity", "State", "Last value", "Evaluated", ...(writer ? ["Actions"] : [])];
      fill(
        rules,
        h("h2", {id: "rules-title"}, "Rules"),
        list.length === 0
          ? h("p", {class: "muted"}, writer ? "No alert rules yet: add one with the form above." : "No alert rules yet.")
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
                    h("td", {class: "state"}, rule.enabled ? badge(rule.state) : badge("disabled", "muted"), rule.enabled && rule.state_since ? h("div", {class: "muted"}, `since ${relative(rule.state_since)}`) : null),
                    h("td", {class: "num"}, rule.last_value === null ? "–" : metricFormat(rule.metric)(rule.last_value)),
                    h("td", {}, relative(rule.evaluated_at)),
                    writer ? actions(rule) : null,
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
