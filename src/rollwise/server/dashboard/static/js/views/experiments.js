// Experiments: every A/B/n test with its state, arms and weights, hypothesis and decision,
// filtered by environment and state.

import {api, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {bp, relative} from "../format.js";

/** "control 50% · variant_a 25% · variant_b 25%". */
export function armsText(arms) {
  return Object.entries(arms || {})
    .map(([arm, weight]) => `${arm} ${bp(weight)}`)
    .join(" · ");
}

/** "ship variant_b", "keep control", "inconclusive". */
export function decisionText(decision) {
  if (!decision) return "–";
  if (decision.kind === "ship") return `ship ${decision.arm}`;
  return decision.kind === "keep_control" ? "keep control" : "inconclusive";
}

export function mount({root, query: params, refresh}) {
  const envSelect = h("select", {id: "experiment-environment", name: "environment"});
  const stateSelect = h("select", {id: "experiment-state", name: "state"}, ["", "draft", "running", "stopped"].map((s) => h("option", {value: s}, s || "any")));
  stateSelect.value = params.get("state") || "";
  const controls = h(
    "form",
    {class: "controls", "aria-label": "which experiments"},
    h("label", {for: "experiment-environment"}, "Environment"), envSelect,
    h("label", {for: "experiment-state"}, "State"), stateSelect,
  );
  const body = h("div", {class: "table-wrap"});
  let environment = params.get("environment") || "";
  controls.addEventListener("change", () => {
    environment = envSelect.value;
    history.replaceState(null, "", `#/experiments${query({environment, state: stateSelect.value})}`);
    refresh();
  });
  controls.addEventListener("submit", (event) => event.preventDefault());
  fill(
    root,
    h("h1", {tabindex: "-1"}, "Experiments"),
    h("p", {class: "lede"}, "A flag's split used as an A/B/n test in one environment: which arm is better, with the sample-ratio check and guardrails first."),
    controls,
    body,
  );
  return {
    async refresh() {
      const [environments, experiments] = await Promise.all([api("environments"), api(`experiments${query({environment, state: stateSelect.value})}`)]);
      const keys = ["", ...environments.map((e) => e.key)].join(",");
      if (envSelect.dataset.keys !== keys) {
        envSelect.dataset.keys = keys;
        fill(envSelect, h("option", {value: ""}, "all"), environments.map((e) => h("option", {value: e.key}, e.name || e.key)));
      }
      envSelect.value = environment;
      if (experiments.length === 0) {
        fill(body, h("p", {class: "muted"}, "No experiments here. Create one with POST /api/v1/experiments (see docs/experiments.md)."));
        return;
      }
      const head = ["Experiment", "Flag", "Environment", "State", "Arms", "Hypothesis", "Started", "Decision"];
      fill(
        body,
        h(
          "table",
          {class: "experiments"},
          h("thead", {}, h("tr", {}, head.map((title) => h("th", {scope: "col"}, title)))),
          h(
            "tbody",
            {},
            experiments.map((x) =>
              h(
                "tr",
                {"data-experiment": x.key},
                h("th", {scope: "row"}, h("a", {href: `#/experiments/${encodeURIComponent(x.key)}`}, x.key)),
                h("td", {}, h("a", {href: `#/flags/${encodeURIComponent(x.flag)}${query({environment: x.environment})}`}, x.flag)),
                h("td", {}, x.environment),
                h("td", {}, badge(x.state)),
                h("td", {}, armsText(x.definition.arms)),
                h("td", {class: "small"}, x.definition.hypothesis || "–"),
                h("td", {}, x.started_at ? relative(x.started_at) : "–"),
                h("td", {}, decisionText(x.decision)),
              ),
            ),
          ),
        ),
      );
    },
  };
}
