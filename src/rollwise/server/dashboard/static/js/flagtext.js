// A flag's state in words: conditions in full, splits as percents, what a killed flag serves.

import {shareBar} from "./chart.js";
import {h} from "./dom.js";
import {bp} from "./format.js";

const WORDS = {
  eq: "=", neq: "≠", in: "in", not_in: "not in", starts_with: "starts with", ends_with: "ends with",
  contains: "contains", regex: "matches", lt: "<", lte: "≤", gt: ">", gte: "≥",
  semver_eq: "= (semver)", semver_lt: "< (semver)", semver_lte: "≤ (semver)", semver_gt: "> (semver)",
  semver_gte: "≥ (semver)", before: "before", after: "after", exists: "exists",
};

/** ``plan in ["pro", "team"]``; ``not (country = "FR")``. */
export function conditionText(condition) {
  const op = WORDS[condition.op] || condition.op;
  const text = condition.op === "exists" ? `${condition.attribute} exists` : `${condition.attribute} ${op} ${JSON.stringify(condition.value)}`;
  return condition.negate ? `not (${text})` : text;
}

export function splitText(split) {
  return Object.entries(split || {})
    .map(([variant, weight]) => `${variant} ${bp(weight)}`)
    .join(" · ");
}

/** "if plan in ["pro"] and country = "FR" → domain". */
export function ruleText(rule) {
  const conditions = (rule.conditions || []).map(conditionText);
  const when = conditions.length ? `if ${conditions.join(" and ")}` : "always";
  const target = rule.variant ? `→ ${rule.variant}` : `→ split ${splitText(rule.split || {})}`;
  return `${rule.id}: ${when} ${target}`;
}

/** What the state serves: the split (a bar and words), a default, or, killed, the off variant
 * to everyone — then the split is drawn greyed out as what it would serve. */
export function serving(flag, state) {
  const off = flag.off_variant || flag.variants[0];
  if (!state.enabled) {
    const kept = state.split ? h("div", {class: "muted small"}, `kept for restore: split ${splitText(state.split)}`) : null;
    return [h("div", {class: "sharebar killed", role: "img", "aria-label": `killed: everyone gets ${off}`}), h("div", {class: "split-text"}, `everyone: ${off} (killed)`), kept];
  }
  if (state.split) {
    const parts = flag.variants.map((variant, index) => ({label: variant, value: state.split[variant] || 0, index}));
    const text = splitText(Object.fromEntries(parts.map((p) => [p.label, p.value])));
    return [shareBar(parts, 10000, `split: ${text}`), h("div", {class: "split-text"}, `split: ${text}`)];
  }
  if (state.default) return h("div", {}, `default: ${state.default}`);
  return h("div", {}, `off variant: ${off}`);
}
