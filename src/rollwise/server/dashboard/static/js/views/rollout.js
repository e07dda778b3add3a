// One rollout: where it is (steps, share, phase), what the controller last saw, what
// happened so far, and the actions legal now (sent with the version shown).

import {api, describe, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {bp, duration, number, relative, time} from "../format.js";
import {gatesTable, metricFormat, rawJson} from "./evidence.js";
import {meter} from "./rollouts.js";

const CONFIRM = {
  promote: (r) => `Promote rollout #${r.id}? ${r.variant} goes to 100% at once, skipping the remaining steps.`,
  abort: (r) => `Abort rollout #${r.id}? Everyone goes back to ${r.baseline}.`,
};

function stepsOf(spec) {
  const strategy = spec.strategy || {};
  if (strategy.type === "blue_green") return [{percent: 100, bake: strategy.verify}];
  return strategy.steps || [];
}

function stepBar(view) {
  const steps = stepsOf(view.spec);
  const reached = view.phase === "succeeded" ? steps.length : view.phase === "pending" ? 0 : view.step;
  return h(
    "ol",
    {class: "steps", "aria-label": "steps"},
    steps.map((step, index) => {
      const state = index < reached ? "done" : index === view.step && view.phase !== "succeeded" ? "current" : "todo";
      return h(
        "li",
        {class: state, "aria-current": state === "current" ? "step" : null},
        h("span", {class: "step-percent"}, `${step.percent}%`),
        h("span", {class: "step-bake"}, step.bake ? `bake ${duration(step.bake)}` : "no bake"),
      );
    }),
  );
}

function gateSpec(gate) {
  const format = metricFormat(gate.metric);
  const bounds = [];
  if (gate.max !== null && gate.max !== undefined) bounds.push(`max ${format(gate.max)}`);
  if (gate.min !== null && gate.min !== undefined) bounds.push(`min ${format(gate.min)}`);
  if (gate.max_increase !== null && gate.max_increase !== undefined) bounds.push(`at most ${Math.round(gate.max_increase * 100)}% above baseline`);
  if (gate.max_difference !== null && gate.max_difference !== undefined) bounds.push(`at most ${format(gate.max_difference)} above baseline`);
  return `${gate.name || gate.metric}: ${gate.metric} ${bounds.join(", ")} (alpha ${gate.alpha})`;
}

function shareChange(row) {
  return `${row.from_phase} ${row.from_step + 1} (${bp(row.from_share)}) → ${row.to_phase} ${row.to_step + 1} (${bp(row.to_share)})`;
}

export function mount({root, params, refresh}) {
  const id = params[0];
  const header = h("div");
  const status = h("section", {class: "card", "aria-labelledby": "status-title"});
  const buttons = h("div", {class: "buttons"});
  const reason = h("input", {id: "action-reason", type: "text", maxlength: "1000", placeholder: "optional, kept in the history"});
  const actionMessage = h("div", {class: "notice", role: "alert", id: "action-message"});
  const judgement = h("section", {class: "card", "aria-labelledby": "judgement-title"});
  const history = h("section", {class: "card", "aria-labelledby": "history-title"});
  const spec = h("section", {class: "card", "aria-labelledby": "spec-title"});
  fill(
    root,
    h("p", {class: "crumbs"}, h("a", {href: "#/rollouts"}, "Rollouts"), " / ", `#${id}`),
    header,
    status,
    h(
      "section",
      {class: "card", "aria-labelledby": "actions-title"},
      h("h2", {id: "actions-title"}, "Actions"),
      h("div", {class: "reason"}, h("label", {for: "action-reason"}, "Reason"), reason),
      buttons,
      actionMessage,
    ),
    judgement,
    history,
    spec,
  );
  let view = null;

  async function act(action) {
    if (CONFIRM[action] && !window.confirm(CONFIRM[action](view))) return;
    for (const button of buttons.querySelectorAll("button")) button.disabled = true;
    fill(actionMessage, h("p", {class: "muted"}, `Sending ${action}…`));
    try {
      const body = {version: view.version};
      if (reason.value.trim()) body.reason = reason.value.trim();
      const after = await api(`rollouts/${id}/${action}`, {method: "POST", body});
      reason.value = "";
      fill(actionMessage, h("p", {class: "ok"}, `${action}: the rollout is now ${after.phase} (version ${after.version}).`));
    } catch (error) {
      const prefix = error.status === 403 ? `Not allowed to ${action}` : `Could not ${action}`;
      fill(actionMessage, h("p", {class: "error"}, `${prefix}: ${describe(error)}`));
    }
    await refresh();
  }

  function renderButtons(legal) {
    fill(
      buttons,
      legal.length
        ? legal.map((action) =>
            h("button", {type: "button", class: action === "abort" ? "danger" : "", "data-action": action, onclick: () => act(action)}, action[0].toUpperCase() + action.slice(1)),
          )
        : h("p", {class: "muted"}, `No manual action is legal in phase ${view.phase}.`),
    );
  }

  function render(rows) {
    fill(
      header,
      h("h1", {tabindex: "-1"}, `Rollout #${view.id}: ${view.flag} in ${view.environment}`),
      h("p", {class: "lede"}, `${view.variant} replacing ${view.baseline} (${view.strategy}), created by ${view.created_by} ${relative(view.created_at)}.`),
    );
    const clock = view.step_clock;
    fill(
      status,
      h("h2", {id: "status-title"}, "Status"),
      h(
        "dl",
        {class: "facts"},
        h("dt", {}, "Phase"), h("dd", {id: "phase"}, badge(view.phase)),
        h("dt", {}, "Step"), h("dd", {id: "step"}, `${view.step + 1} of ${view.steps} (${view.step_percent}%)`),
        h("dt", {}, "Share"), h("dd", {id: "share"}, meter(view.share_percent, `share of ${view.variant}`), ` ${view.share_percent}% on ${view.variant}`),
        h("dt", {}, "Attempt"), h("dd", {}, String(view.attempt)),
        h("dt", {}, "Version"), h("dd", {id: "version"}, String(view.version)),
        clock ? [h("dt", {}, "Bake ends"), h("dd", {}, `${time(clock.bake_ends_at)} (${relative(clock.bake_ends_at)})`)] : null,
        clock ? [h("dt", {}, "Pauses without verdict"), h("dd", {}, `${time(clock.expires_at)} (${relative(clock.expires_at)})`)] : null,
      ),
      stepBar(view),
      h("p", {}, h("a", {href: `#/metrics${query({flag: view.flag, environment: view.environment})}`}, `Metrics of ${view.flag} in ${view.environment}`)),
    );
    const legal = view.legal_manual_actions;
    if (buttons.dataset.actions !== legal.join(",") || buttons.querySelector("button:disabled")) {
      buttons.dataset.actions = legal.join(",");
      renderButtons(legal);
    }

    const j = view.judgement;
    const stale = j && (j.rollout_version !== view.version || j.step !== view.step);
    fill(
      judgement,
      h("h2", {id: "judgement-title"}, "Latest judgement"),
      j
        ? [
            h(
              "p",
              {class: "verdict"},
              "Decision ", badge(j.decision), " · data ", badge(j.verdict || "none"),
              ` · ${time(j.at)} (${relative(j.at)}) · step ${j.step + 1}, attempt ${j.attempt}`,
              stale ? h("span", {class: "muted"}, " · judged an earlier version") : null,
            ),
            h("p", {}, j.reason),
            j.evidence && j.evidence.samples
              ? h(
                  "p",
                  {class: "muted", id: "samples"},
                  `Requests judged: ${view.baseline} ${number(j.evidence.samples.baseline)}, ${view.variant} ${number(j.evidence.samples.canary)}`,
                  ` (at least ${number(j.evidence.min_samples)} each)`,
                  j.evidence.window && j.evidence.window.seconds ? `, over the last ${duration(j.evidence.window.seconds)}` : "",
                )
              : null,
            gatesTable(j.evidence && j.evidence.gates),
            j.evidence ? rawJson("All evidence (JSON)", j.evidence) : null,
          ]
        : h("p", {class: "muted"}, "The controller has not judged this rollout yet."),
    );

    fill(
      history,
      h("h2", {id: "history-title"}, "History"),
      h(
        "table",
        {class: "history"},
        h("thead", {}, h("tr", {}, ["#", "When", "Actor", "Action", "From → to", "Reason"].map((t) => h("th", {scope: "col"}, t)))),
        h(
          "tbody",
          {},
          rows.map((row) =>
            h(
              "tr",
              {"data-seq": String(row.seq)},
              h("td", {}, String(row.seq)),
              h("td", {}, time(row.at)),
              h("td", {}, row.actor),
              h("td", {}, badge(row.action, "action")),
              h("td", {}, shareChange(row)),
              h(
                "td",
                {},
                row.reason || "",
                row.evidence && row.evidence.gates ? h("details", {class: "raw"}, h("summary", {}, "gates"), gatesTable(row.evidence.gates)) : null,
              ),
            ),
          ),
        ),
      ),
    );

    const s = view.spec;
    fill(
      spec,
      h("h2", {id: "spec-title"}, "Spec"),
      h("ul", {}, (s.gates || []).map((gate) => h("li", {}, gateSpec(gate)))),
      h(
        "p",
        {class: "muted"},
        `min samples ${s.min_samples} per variant · on no data: ${s.on_no_data}`,
        s.max_step_duration ? ` · max step duration ${duration(s.max_step_duration)}` : "",
      ),
      rawJson("Spec (JSON)", s),
    );
  }

  return {
    async refresh() {
      const [fresh, rows] = await Promise.all([api(`rollouts/${id}`), api(`rollouts/${id}/history`)]);
      view = fresh;
      render(rows);
    },
  };
}
