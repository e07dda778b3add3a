// Flags and their state in each environment: kill switch, rules, split, active rollout.

import {api, describe, query} from "../api.js";
import {shareBar} from "../chart.js";
import {badge, fill, h} from "../dom.js";
import {bp} from "../format.js";

const enc = encodeURIComponent;

function ruleText(rule) {
  const target = rule.variant ? `→ ${rule.variant}` : `→ split ${splitText(rule.split || {})}`;
  const n = (rule.conditions || []).length;
  return `${rule.id} (${n} condition${n === 1 ? "" : "s"}) ${target}`;
}

function splitText(split) {
  return Object.entries(split)
    .map(([variant, weight]) => `${variant} ${bp(weight)}`)
    .join(" · ");
}

function serving(flag, state) {
  if (state.split) {
    const parts = flag.variants.map((variant, index) => ({label: variant, value: state.split[variant] || 0, index}));
    const text = splitText(Object.fromEntries(parts.map((p) => [p.label, p.value])));
    return [shareBar(parts, 10000, `split: ${text}`), h("div", {class: "split-text"}, `split: ${text}`)];
  }
  if (state.default) return h("div", {}, `default: ${state.default}`);
  return h("div", {}, `off variant: ${flag.off_variant}`);
}

export function mount({root, refresh}) {
  const notice = h("div", {class: "notice", role: "alert"});
  const body = h("div", {class: "table-wrap"});
  fill(
    root,
    h("h1", {tabindex: "-1"}, "Flags"),
    h("p", {class: "lede"}, "Each flag's state per environment: kill switch, targeting rules, the split, and the rollout driving it."),
    notice,
    body,
  );

  async function toggle(flag, environment, record, action) {
    const question =
      action === "kill"
        ? `Kill ${flag.key} in ${environment}? Everyone gets ${flag.off_variant} at once.`
        : `Restore ${flag.key} in ${environment}? Its rules and split apply again.`;
    if (!window.confirm(question)) return;
    try {
      await api(`flags/${enc(flag.key)}/environments/${enc(environment)}/${action}`, {method: "POST", version: record.version});
      fill(notice, h("p", {class: "ok"}, `${flag.key} in ${environment}: ${action === "kill" ? "killed" : "restored"}.`));
    } catch (error) {
      fill(notice, h("p", {class: "error"}, `Could not ${action} ${flag.key} in ${environment}: ${describe(error)}`));
    }
    refresh();
  }

  function cell(flag, environment, record, rollout) {
    const parts = [];
    if (!record) {
      parts.push(badge("not set", "muted"), h("div", {class: "muted"}, `everyone: ${flag.off_variant}`));
    } else {
      const state = record.state;
      if (state.enabled) parts.push(badge("enabled", "ok"));
      else parts.push(badge("killed", "killed"), h("div", {}, `everyone: ${flag.off_variant}`));
      parts.push(serving(flag, state));
      const rules = state.rules || [];
      if (rules.length) {
        parts.push(h("ul", {class: "rules", "aria-label": "rules"}, rules.map((rule) => h("li", {}, ruleText(rule)))));
      }
      if (state.unit && state.unit !== "user_id") parts.push(h("div", {class: "muted"}, `unit: ${state.unit}`));
      const action = state.enabled ? "kill" : "restore";
      parts.push(
        h("button", {type: "button", class: state.enabled ? "danger small" : "small", onclick: () => toggle(flag, environment, record, action)},
          state.enabled ? "Kill switch" : "Restore"),
      );
    }
    if (rollout) {
      parts.push(
        h("div", {}, h("a", {href: `#/rollouts/${rollout.id}`}, `rollout #${rollout.id}`), " ", badge(rollout.phase), ` ${rollout.variant} at ${rollout.share_percent}%`),
      );
    }
    parts.push(h("a", {class: "small", href: `#/metrics${query({flag: flag.key, environment})}`}, "metrics"));
    return h("td", {"data-environment": environment}, parts);
  }

  return {
    async refresh() {
      const [environments, flags, active] = await Promise.all([
        api("environments"),
        api("flags"),
        api("rollouts?active=true&limit=1000"),
      ]);
      const states = await Promise.all(flags.map((flag) => api(`flags/${enc(flag.key)}/environments`)));
      if (flags.length === 0) {
        fill(body, h("p", {class: "muted"}, "No flags yet. Create one with POST /api/v1/flags or `rollwise apply`."));
        return;
      }
      const rows = flags.map((flag, index) => {
        const byEnv = Object.fromEntries(states[index].map((record) => [record.environment, record]));
        return h(
          "tr",
          {"data-flag": flag.key},
          h(
            "th",
            {scope: "row"},
            h("strong", {}, flag.key),
            flag.description ? h("div", {class: "muted"}, flag.description) : null,
            h("div", {class: "muted"}, `variants: ${flag.variants.join(", ")}`),
            flag.tags.length ? h("div", {}, flag.tags.map((tag) => badge(tag, "tag"))) : null,
          ),
          environments.map((env) =>
            cell(flag, env.key, byEnv[env.key], active.find((r) => r.flag === flag.key && r.environment === env.key)),
          ),
        );
      });
      fill(
        body,
        h(
          "table",
          {class: "flags"},
          h("thead", {}, h("tr", {}, h("th", {scope: "col"}, "Flag"), environments.map((env) => h("th", {scope: "col"}, env.name || env.key)))),
          h("tbody", {}, rows),
        ),
      );
    },
  };
}
