// One flag: its definition, its state in one environment (switcher) with rules shown in
// full, an editor for both (write tokens), and its history with the changed fields.

import {api, can, describe, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {conditionText, ruleText, serving} from "../flagtext.js";
import {field, listOf, showErrors} from "../forms.js";
import {time} from "../format.js";
import {chooseEnvironment} from "./flags.js";

const enc = encodeURIComponent;
const OPS = ["eq", "neq", "in", "not_in", "starts_with", "ends_with", "contains", "regex", "lt", "lte", "gt", "gte",
  "semver_eq", "semver_lt", "semver_lte", "semver_gt", "semver_gte", "before", "after", "exists"];
const LISTS = new Set(["in", "not_in", "starts_with", "ends_with", "contains"]);
const NUMBERS = new Set(["lt", "lte", "gt", "gte"]);

/** A condition's value as typed: lists comma-separated, numbers as numbers, JSON if it parses. */
export function parseValue(op, text) {
  const raw = String(text).trim();
  if (op === "exists") return null;
  if (raw.startsWith("[") || raw.startsWith("{") || raw.startsWith('"')) {
    try {
      return JSON.parse(raw);
    } catch {
      /* plain text */
    }
  }
  if (LISTS.has(op)) return op === "in" || op === "not_in" ? listOf(raw).map(scalar) : listOf(raw);
  if (NUMBERS.has(op)) return Number(raw);
  return scalar(raw);
}

function scalar(raw) {
  if (raw === "true" || raw === "false") return raw === "true";
  if (/^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

function valueText(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value) && value.every((v) => typeof v === "string" && !v.includes(","))) return value.join(", ");
  return typeof value === "string" ? value : JSON.stringify(value);
}

function diffValue(value) {
  if (value === null || value === undefined) return "–";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** The editor of one rule: id, conditions (attribute, operator, value, negate) and variant. */
function ruleEditor(flag, rule, index, onRemove) {
  const conditions = h("div", {class: "conds"});
  const box = h("fieldset", {class: "rule-editor", "data-rule": String(index)});
  const id = h("input", {type: "text", class: "rule-id", value: rule.id || `rule-${index + 1}`, "aria-label": `rule ${index + 1} id`});
  const variant = h("select", {class: "rule-variant", "aria-label": `rule ${index + 1} variant`}, flag.variants.map((v) => h("option", {value: v, selected: v === rule.variant}, v)));
  box.ruleSplit = rule.split || null; // a rule's own split is kept as it is (edited through the API)
  function addCondition(condition) {
    const n = conditions.children.length + 1;
    const row = h("div", {class: "cond"});
    const attribute = h("input", {type: "text", class: "cond-attribute", value: condition.attribute || "", "aria-label": `rule ${index + 1} condition ${n} attribute`, placeholder: "attribute"});
    const op = h("select", {class: "cond-op", "aria-label": `rule ${index + 1} condition ${n} operator`}, OPS.map((o) => h("option", {value: o, selected: o === (condition.op || "eq")}, o)));
    const value = h("input", {type: "text", class: "cond-value", value: valueText(condition.value), "aria-label": `rule ${index + 1} condition ${n} value`, placeholder: "value (lists: a, b)"});
    const negate = h("input", {type: "checkbox", class: "cond-negate", checked: Boolean(condition.negate)});
    row.append(attribute, op, value, h("label", {}, negate, " not"), h("button", {type: "button", class: "small secondary", onclick: () => row.remove()}, "Remove condition"));
    conditions.append(row);
  }
  for (const condition of rule.conditions || []) addCondition(condition);
  box.append(
    h("legend", {}, `Rule ${index + 1}`),
    h("label", {}, "Id ", id),
    conditions,
    h("button", {type: "button", class: "small secondary", onclick: () => addCondition({})}, "Add condition"),
    rule.split ? h("p", {class: "muted small"}, `serves its own split: ${ruleText(rule)}`) : h("label", {}, " then serve ", variant),
    " ",
    h("button", {type: "button", class: "small danger", onclick: () => onRemove(box)}, "Remove rule"),
  );
  box.read = () => {
    const out = {
      id: id.value.trim(),
      conditions: [...conditions.querySelectorAll(".cond")].map((row) => {
        const op = row.querySelector(".cond-op").value;
        const condition = {attribute: row.querySelector(".cond-attribute").value.trim(), op, value: parseValue(op, row.querySelector(".cond-value").value)};
        if (row.querySelector(".cond-negate").checked) condition.negate = true;
        return condition;
      }),
    };
    if (box.ruleSplit) out.split = box.ruleSplit;
    else out.variant = variant.value;
    return out;
  };
  return box;
}

/** The editor of a flag's state in one environment. ``onSaved(message)`` redraws it from
 * the saved state, ``message`` shown above the new editor (the redraw must not swallow it). */
function stateEditor(flag, record, environment, onSaved, message) {
  const state = record.state;
  const summary = h("div", {class: "notice", role: "alert", id: "state-message"}, message ? h("p", {class: "ok"}, message) : null);
  const enabled = h("input", {type: "checkbox", checked: record.version === 0 ? true : state.enabled});
  const useSplit = Boolean(state.split) || record.version === 0;
  const mode = h("select", {}, h("option", {value: "split", selected: useSplit}, "a split"), h("option", {value: "default", selected: !useSplit}, "one variant"));
  const split = h("div", {class: "split-editor"});
  const inputs = {};
  for (const variant of flag.variants) {
    const input = h("input", {type: "number", min: "0", max: "100", step: "0.01", value: state.split ? String((state.split[variant] || 0) / 100) : variant === flag.variants[0] ? "100" : "0"});
    input.id = `split-${variant.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    inputs[variant] = input;
    split.append(h("span", {}, h("label", {for: input.id}, `${variant} %`), " ", input));
  }
  const defaultVariant = h("select", {}, flag.variants.map((v) => h("option", {value: v, selected: v === state.default}, v)));
  const unit = h("input", {type: "text", value: state.unit || "user_id"});
  const rules = h("div", {class: "rules-editor"});
  const remove = (box) => box.remove();
  (state.rules || []).forEach((rule, index) => rules.append(ruleEditor(flag, rule, index, remove)));
  const form = h(
    "form",
    {class: "form state-form", novalidate: true, "aria-label": `state in ${environment}`},
    field("state-enabled", "Enabled", enabled, "Unticked: killed, everyone gets the off variant"),
    field("state-mode", "Everyone else gets", mode),
    field("state-split", "Split", split, "Percents summing to 100; raising a share never moves a user who has the variant"),
    field("state-default", "Variant", defaultVariant),
    field("state-unit", "Sticky unit", unit, "The context attribute users are bucketed by"),
    h("div", {class: "actions"}, h("strong", {}, "Rules (first match wins)")),
    h("div", {class: "actions"}, rules),
    h("div", {class: "actions"},
      h("button", {type: "button", class: "secondary", onclick: () => rules.append(ruleEditor(flag, {conditions: [{}]}, rules.children.length, remove))}, "Add rule"),
      h("button", {type: "submit"}, `Save ${environment}`)),
  );
  const sync = () => {
    const useSplit = mode.value === "split";
    for (const node of [split, form.querySelector("label[for=state-split]"), form.querySelector("#state-split-hint")]) if (node) node.hidden = !useSplit;
    for (const node of [defaultVariant, form.querySelector("label[for=state-default]")]) if (node) node.hidden = useSplit;
  };
  mode.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {enabled: enabled.checked, unit: unit.value.trim() || "user_id", rules: [...rules.querySelectorAll(".rule-editor")].map((box) => box.read()), version: record.version};
    for (const name of ["unit_fallbacks", "salt"]) if (state[name] !== undefined && state[name] !== null) body[name] = state[name];
    if (mode.value === "split") {
      body.split = Object.fromEntries(flag.variants.map((v) => [v, Math.round(Number(inputs[v].value || 0) * 100)]));
    } else {
      body.default = defaultVariant.value;
    }
    try {
      await api(`flags/${enc(flag.key)}/environments/${enc(environment)}`, {method: "PUT", body});
      fill(summary, h("p", {class: "ok"}, `Saved ${flag.key} in ${environment}.`));
      onSaved(`Saved ${flag.key} in ${environment}.`);
    } catch (error) {
      showErrors(form, summary, error, {split: "state-split", default: "state-default", unit: "state-unit", rules: "state-mode", enabled: "state-enabled"});
    }
  });
  return [summary, form];
}

/** The editor of the flag itself; like the state's, redrawn after a save with ``message``. */
function flagEditor(flag, onSaved, message) {
  const summary = h("div", {class: "notice", role: "alert", id: "flag-message"}, message ? h("p", {class: "ok"}, message) : null);
  const description = h("input", {type: "text", value: flag.description || ""});
  const variants = h("input", {type: "text", value: flag.variants.join(", ")});
  const off = h("input", {type: "text", value: flag.off_variant || ""});
  const tags = h("input", {type: "text", value: flag.tags.join(", ")});
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-label": "the flag"},
    field("edit-description", "Description", description),
    field("edit-variants", "Variants", variants, "Comma-separated; a variant still served somewhere cannot be removed"),
    field("edit-off", "Off variant", off),
    field("edit-tags", "Tags", tags, "Comma-separated"),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Save flag")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {description: description.value, variants: listOf(variants.value), tags: listOf(tags.value), version: flag.version};
    if (off.value.trim()) body.off_variant = off.value.trim();
    try {
      await api(`flags/${enc(flag.key)}`, {method: "PATCH", body});
      fill(summary, h("p", {class: "ok"}, `Saved ${flag.key}.`));
      onSaved(`Saved ${flag.key}.`);
    } catch (error) {
      showErrors(form, summary, error, {description: "edit-description", variants: "edit-variants", off_variant: "edit-off", tags: "edit-tags"});
    }
  });
  return h("details", {class: "raw edit"}, h("summary", {}, "Edit the flag (variants, tags)"), summary, form);
}

function historyList(items) {
  if (items.length === 0) return h("p", {class: "muted"}, "No changes recorded.");
  return h(
    "div",
    {class: "table-wrap"},
    h(
      "table",
      {class: "flag-history"},
      h("thead", {}, h("tr", {}, ["When", "Who", "What", "Changes"].map((t) => h("th", {scope: "col"}, t)))),
      h(
        "tbody",
        {},
        items.map((item) =>
          h(
            "tr",
            {"data-action": item.action},
            h("td", {}, time(item.at)),
            h("td", {}, item.actor),
            h("td", {}, badge(item.action, "action"), item.environment ? h("div", {class: "muted small"}, item.environment) : h("div", {class: "muted small"}, "all environments")),
            h(
              "td",
              {},
              item.changes.length
                ? h("ul", {class: "checks"}, item.changes.map((c) => h("li", {}, h("code", {class: "path"}, c.path), ": ", h("span", {class: "diff-before"}, diffValue(c.before)), " → ", h("span", {class: "diff-after"}, diffValue(c.after)))))
                : h("span", {class: "muted"}, "no field changed"),
            ),
          ),
        ),
      ),
    ),
  );
}

export function mount({root, params, query: search, refresh}) {
  const key = params[0];
  const header = h("div");
  const flagBox = h("div"); // the flag's editor: redrawn only when the flag changes, never while typed in
  const envSelect = h("select", {id: "flag-env"});
  const state = h("section", {class: "card", "aria-labelledby": "state-title"});
  const editor = h("section", {class: "card", "aria-labelledby": "editor-title", hidden: !can("write")});
  const history = h("section", {class: "card", "aria-labelledby": "flag-history-title"});
  fill(
    root,
    h("p", {class: "crumbs"}, h("a", {href: "#/flags"}, "Flags"), " / ", key),
    header,
    flagBox,
    h("p", {class: "controls"}, h("label", {for: "flag-env"}, "Environment"), envSelect),
    state,
    editor,
    history,
  );
  let environment = null;
  let editorFor = null; // "env:version" the editor was drawn from; a refresh leaves it alone
  let flagFor = null; // the flag version its editor was drawn from
  let saved = {}; // {flag, state}: the message of the save that asked for a redraw
  let asked = 0; // redraws asked for: a refresh that began before the last one draws no editor

  envSelect.addEventListener("change", () => {
    sessionStorage.setItem("rollwise.environment", envSelect.value);
    location.hash = `#/flags/${enc(key)}${query({environment: envSelect.value})}`;
  });

  /** Redraw both editors from what is stored now (after a save: its message kept). */
  function reloadEditor() {
    editorFor = null;
    flagFor = null;
    asked += 1;
    refresh();
  }
  const flagSaved = (message) => {
    saved = {flag: message};
    reloadEditor();
  };
  const stateSaved = (message) => {
    saved = {state: message};
    reloadEditor();
  };

  return {
    async refresh() {
      const fresh = asked; // what this refresh reads is newer than every save before it
      const [flag, environments] = await Promise.all([api(`flags/${enc(key)}`), api("environments")]);
      environment = chooseEnvironment(environments, environment || search.get("environment"));
      if (envSelect.dataset.keys !== environments.map((e) => e.key).join(",")) {
        envSelect.dataset.keys = environments.map((e) => e.key).join(",");
        fill(envSelect, environments.map((e) => h("option", {value: e.key}, e.name || e.key)));
      }
      envSelect.value = environment;
      const [record, changes, active] = await Promise.all([
        api(`flags/${enc(key)}/environments/${enc(environment)}`),
        api(`flags/${enc(key)}/history${query({environment, limit: 100})}`),
        api(`rollouts${query({active: "true", environment, flag: key, limit: 10})}`),
      ]);
      fill(
        header,
        h("h1", {tabindex: "-1"}, flag.key),
        flag.description ? h("p", {class: "lede"}, flag.description) : null,
        h("p", {class: "muted"}, `variants: ${flag.variants.join(", ")} · off variant: ${flag.off_variant || flag.variants[0]} · version ${flag.version}`, flag.tags.length ? " · " : "", flag.tags.map((t) => badge(t, "tag"))),
      );
      const current = fresh === asked; // else the next refresh, already asked for, draws them
      if (can("write") && current) {
        // redrawn when the flag changed, unless someone has the form open: they are told
        const box = flagBox.querySelector("details");
        const open = Boolean(box && box.open);
        if (flagFor === null || (flagFor !== flag.version && !open)) {
          flagFor = flag.version;
          fill(flagBox, flagEditor(flag, flagSaved, saved.flag));
          saved.flag = null;
          if (open) flagBox.querySelector("details").open = true;
        } else if (flagFor !== flag.version && !box.querySelector(".changed-elsewhere")) {
          box.querySelector("summary").after(h("p", {class: "notice changed-elsewhere"}, "The flag changed elsewhere since this form was drawn. ", h("button", {type: "button", class: "small", onclick: reloadEditor}, "Reload the form")));
        }
      }
      const rollout = active.find((r) => r.flag === key);
      const s = record.state;
      fill(
        state,
        h("h2", {id: "state-title"}, `In ${environment}: `, record.version === 0 ? badge("not set", "muted") : s.enabled ? badge("enabled", "ok") : badge("killed", "killed")),
        record.version === 0 ? h("p", {class: "muted"}, `Never set here: everyone gets ${flag.off_variant || flag.variants[0]}.`) : serving(flag, s),
        (s.rules || []).length
          ? h("ol", {class: "rules", "aria-label": "rules"}, s.rules.map((rule) => h("li", {}, ruleText(rule), rule.conditions && rule.conditions.length > 1 ? h("ul", {}, rule.conditions.map((c) => h("li", {}, conditionText(c)))) : null)))
          : h("p", {class: "muted"}, "No targeting rules."),
        h("p", {class: "muted small"}, `sticky unit: ${s.unit || "user_id"} · version ${record.version}`),
        rollout ? h("p", {}, "Split driven by ", h("a", {href: `#/rollouts/${rollout.id}`}, `rollout #${rollout.id}`), ` (${rollout.phase}, ${rollout.variant} at ${rollout.share_percent}%): changing the split is refused until it ends.`) : null,
      );
      if (can("write") && current) {
        const now = `${environment}:${record.version}:${flag.version}`;
        if (editorFor === null || !editorFor.startsWith(`${environment}:`)) {
          editorFor = now;
          fill(editor, h("h2", {id: "editor-title"}, `Edit ${environment}`), stateEditor(flag, record, environment, stateSaved, saved.state));
          saved.state = null;
        } else if (editorFor !== now && !editor.querySelector(".changed-elsewhere")) {
          editor.prepend(h("p", {class: "notice changed-elsewhere"}, "Changed elsewhere since this editor was drawn. ", h("button", {type: "button", class: "small", onclick: reloadEditor}, "Reload the editor")));
        }
      }
      fill(history, h("h2", {id: "flag-history-title"}, `History in ${environment}`), historyList(changes.items));
    },
  };
}
