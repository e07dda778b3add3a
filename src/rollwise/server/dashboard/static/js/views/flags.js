// Flags in one environment (switcher), searchable and filtered by tag: kill switch, rules
// in full, the split, and the rollout driving it. One list request per refresh, whatever
// the number of flags (GET /environments/{env}/flag-states); refreshed when the server's
// event stream announces a new config version of the environment, not by polling.

import {api, can, describe, follow, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {ruleText, serving} from "../flagtext.js";

const enc = encodeURIComponent;

export function chooseEnvironment(environments, wanted) {
  const keys = environments.map((e) => e.key);
  if (keys.includes(wanted)) return wanted;
  const remembered = sessionStorage.getItem("rollwise.environment");
  if (keys.includes(remembered)) return remembered;
  return keys.includes("production") ? "production" : keys[0];
}

export function mount({root, query: params, refresh}) {
  const notice = h("div", {class: "notice", role: "alert"});
  const controls = h("form", {class: "controls", role: "search", "aria-label": "which flags"});
  const body = h("div", {class: "table-wrap"});
  const search = h("input", {id: "flag-search", type: "search", name: "search", value: params.get("search") || "", placeholder: "key or description"});
  const tagSelect = h("select", {id: "flag-tag", name: "tag"});
  const envSelect = h("select", {id: "flag-environment", name: "environment"});
  fill(
    root,
    h("h1", {tabindex: "-1"}, "Flags"),
    h("p", {class: "lede"}, "Each flag's state in one environment: kill switch, targeting rules, the split, and the rollout driving it."),
    can("write") ? h("p", {}, h("a", {class: "button", href: "#/flags/new"}, "New flag")) : null,
    controls,
    notice,
    body,
  );
  fill(
    controls,
    h("label", {for: "flag-environment"}, "Environment"), envSelect,
    h("label", {for: "flag-search"}, "Search"), search,
    h("label", {for: "flag-tag"}, "Tag"), tagSelect,
  );
  let environment = null;
  let tag = params.get("tag") || "";
  let last = null;
  let followed = null; // the environment whose event stream this view follows
  let stopFollowing = () => {};

  function go() {
    sessionStorage.setItem("rollwise.environment", envSelect.value);
    history.replaceState(null, "", `#/flags${query({environment: envSelect.value, search: search.value.trim(), tag: tagSelect.value})}`);
    environment = envSelect.value;
    tag = tagSelect.value;
    if (last) draw(last);
    refresh();
  }
  controls.addEventListener("change", go);
  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    go();
  });
  search.addEventListener("input", () => last && draw(last));

  async function toggle(flag, record, action) {
    const question =
      action === "kill"
        ? `Kill ${flag.key} in ${environment}? Everyone gets ${flag.off_variant || flag.variants[0]} at once.`
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

  function stateCells(flag, record, rollout) {
    if (!record || record.version === 0) {
      return [
        h("td", {"data-environment": environment}, badge("not set", "muted"), h("div", {class: "muted"}, `everyone: ${flag.off_variant || flag.variants[0]}`), rollout ? rolloutLink(rollout) : null),
        h("td", {}),
        h("td", {}, h("a", {class: "small", href: `#/metrics${query({flag: flag.key, environment})}`}, "metrics")),
      ];
    }
    const state = record.state;
    const rules = state.rules || [];
    const cell = h(
      "td",
      {"data-environment": environment},
      state.enabled ? badge("enabled", "ok") : badge("killed", "killed"),
      serving(flag, state),
      state.unit && state.unit !== "user_id" ? h("div", {class: "muted"}, `unit: ${state.unit}`) : null,
      rollout ? rolloutLink(rollout) : null,
      can("write")
        ? h("button", {type: "button", class: state.enabled ? "danger small" : "small", "data-write": "", onclick: () => toggle(flag, record, state.enabled ? "kill" : "restore")},
            state.enabled ? "Kill switch" : "Restore")
        : null,
    );
    return [
      cell,
      h("td", {}, rules.length ? h("ul", {class: "rules", "aria-label": "rules"}, rules.map((rule) => h("li", {}, ruleText(rule)))) : h("span", {class: "muted"}, "no rules")),
      h("td", {}, h("a", {class: "small", href: `#/metrics${query({flag: flag.key, environment})}`}, "metrics")),
    ];
  }

  function rolloutLink(rollout) {
    return h("div", {}, h("a", {href: `#/rollouts/${rollout.id}`}, `rollout #${rollout.id}`), " ", badge(rollout.phase), ` ${rollout.variant} at ${rollout.share_percent}%`);
  }

  function draw({flags, states, active}) {
    const needle = search.value.trim().toLowerCase();
    const shown = flags.filter(
      (flag) => (!tag || flag.tags.includes(tag)) && (!needle || flag.key.toLowerCase().includes(needle) || (flag.description || "").toLowerCase().includes(needle)),
    );
    if (flags.length === 0) {
      fill(body, h("p", {class: "muted"}, "No flags yet.", can("write") ? " Create one with New flag." : ""));
      return;
    }
    if (shown.length === 0) {
      fill(body, h("p", {class: "muted"}, "No flag matches."));
      return;
    }
    const byFlag = Object.fromEntries(states.map((record) => [record.flag, record]));
    fill(
      body,
      h(
        "table",
        {class: "flags"},
        h("caption", {}, `${shown.length} of ${flags.length} flags in ${environment}`),
        h("thead", {}, h("tr", {}, ["Flag", environment, "Rules", "Metrics"].map((t) => h("th", {scope: "col"}, t)))),
        h(
          "tbody",
          {},
          shown.map((flag) =>
            h(
              "tr",
              {"data-flag": flag.key},
              h(
                "th",
                {scope: "row"},
                h("a", {href: `#/flags/${enc(flag.key)}${query({environment})}`}, h("strong", {}, flag.key)),
                flag.description ? h("div", {class: "muted"}, flag.description) : null,
                h("div", {class: "muted"}, `variants: ${flag.variants.join(", ")}`),
                flag.tags.length ? h("div", {}, flag.tags.map((t) => badge(t, "tag"))) : null,
              ),
              stateCells(flag, byFlag[flag.key], active.find((r) => r.flag === flag.key && r.environment === environment)),
            ),
          ),
        ),
      ),
    );
  }

  function followChanges() {
    if (followed === environment) return;
    stopFollowing();
    followed = environment;
    let first = true; // the stream's first event is the version this refresh just read
    stopFollowing = follow(
      environment,
      () => {
        if (first) first = false;
        else refresh();
      },
      () => root.isConnected,
    );
  }

  return {
    streaming: true,
    async refresh() {
      const [environments, flags] = await Promise.all([api("environments"), api("flags")]);
      if (environments.length === 0) {
        fill(body, h("p", {class: "muted"}, "No environments yet: create one with POST /api/v1/environments or `rollwise apply`."));
        return;
      }
      environment = chooseEnvironment(environments, environment || params.get("environment"));
      if (envSelect.dataset.keys !== environments.map((e) => e.key).join(",")) {
        envSelect.dataset.keys = environments.map((e) => e.key).join(",");
        fill(envSelect, environments.map((e) => h("option", {value: e.key}, e.name || e.key)));
      }
      envSelect.value = environment;
      const tags = [...new Set(flags.flatMap((f) => f.tags))].sort();
      if (tagSelect.dataset.tags !== tags.join(",")) {
        tagSelect.dataset.tags = tags.join(",");
        fill(tagSelect, h("option", {value: ""}, "any"), tags.map((t) => h("option", {value: t}, t)));
      }
      tagSelect.value = tags.includes(tag) ? tag : "";
      const [states, active] = await Promise.all([
        api(`environments/${enc(environment)}/flag-states`),
        api(`rollouts${query({active: "true", environment, limit: 1000})}`),
      ]);
      last = {flags, states, active};
      followChanges();
      draw(last);
    },
  };
}
