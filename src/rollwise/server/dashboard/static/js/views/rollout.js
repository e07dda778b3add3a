// One rollout: where it is (steps, share, phase), what the controller last saw, what
// happened so far, and the actions legal now (sent with the version shown).

import {api, can, describe, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {bp, duration, number, relative, time} from "../format.js";
import {gatesTable, metricFormat, rawJson} from "./evidence.js";
import {mountCharts} from "./rollout_charts.js";
import {meter} from "./rollouts.js";

const ENDED_BADLY = new Set(["rolled_back", "aborted"]);

const CONFIRM = {
  promote: (r) => `Promote rollout #${r.id}? ${r.variant} goes to 100% at once, skipping the remaining steps.`,
  abort: (r) => `Abort rollout #${r.id}? Everyone goes back to ${r.baseline}.`,
};

function stepsOf(spec) {
  const strategy = spec.strategy || {};
  if (strategy.type === "blue_green") return [{percent: 100, bake: strategy.verify}];
  return strategy.steps || [];
}

/** The step a rollback or an abort ended (from the history: the step it left). */
function failedStep(view, rows) {
  if (!ENDED_BADLY.has(view.phase)) return null;
  const last = [...rows].reverse().find((row) => row.to_phase === view.phase);
  return last ? last.from_step : view.step;
}

function stepBar(view, rows) {
  const steps = stepsOf(view.spec);
  const failed = failedStep(view, rows);
  const reached = view.phase === "succeeded" ? steps.length : view.phase === "pending" ? 0 : failed !== null ? failed : view.step;
  const word = view.phase === "rolled_back" ? "rolled back" : "aborted";
  return h(
    "ol",
    {class: "steps", "aria-label": "steps"},
    steps.map((step, index) => {
      let state = index < reached ? "done" : "todo";
      if (failed !== null && index === failed) state = "failed";
      else if (failed === null && index === view.step && view.phase !== "succeeded" && view.phase !== "pending") state = "current";
      return h(
        "li",
        {class: state, "aria-current": state === "current" ? "step" : null, "data-step": String(index + 1)},
        h("span", {class: "step-percent"}, `${step.percent}%`),
        h("span", {class: "step-bake"}, step.bake ? `bake ${duration(step.bake)}` : "no bake"),
        state === "failed" ? h("span", {class: "step-state error"}, word) : state === "current" ? h("span", {class: "step-state"}, view.phase === "paused" ? "paused" : "current") : null,
      );
    }),
  );
}

function gateSpec(gate) {
  const format = metricFormat(gate.metric);
  const bounds = [];
  if (gate.max !== null && gate.max !== undefined) bounds.push(`max ${format(gate.max)}`);
  if (gate.min !== null && gate.min !== undefined) bounds.push(`min ${format(gate.min)}`);
  if (gate.max_increase !== null && gate.max_increase !== undefined) {
    bounds.push(`at most ${Number((gate.max_increase * 100).toPrecision(3))}% above the baseline's value (relative: baseline × ${Number((1 + gate.max_increase).toPrecision(4))})`);
  }
  if (gate.max_difference !== null && gate.max_difference !== undefined) {
    const points = Number((gate.max_difference * 100).toPrecision(3));
    bounds.push(
      String(gate.metric).endsWith("_rate")
        ? `at most ${points} percentage point${points === 1 ? "" : "s"} above the baseline's rate (absolute: baseline + ${points} pp)`
        : `at most ${format(gate.max_difference)} above the baseline's value`,
    );
  }
  return `${gate.name || gate.metric}: ${gate.metric} ${bounds.join(", ")} (alpha ${gate.alpha})`;
}

function shareChange(row) {
  return `${row.from_phase} ${row.from_step + 1} (${bp(row.from_share)}) → ${row.to_phase} ${row.to_step + 1} (${bp(row.to_share)})`;
}

function historyTable(rows) {
  return h(
    "div",
    {class: "table-wrap"},
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
              row.evidence && row.evidence.gates ? h("details", {class: "raw"}, h("summary", {}, "gates"), h("div", {class: "table-wrap"}, gatesTable(row.evidence.gates))) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

/** Every transition on one line, oldest first: when, what, the share, who and why. */
function timeline(rows) {
  return h(
    "ol",
    {class: "timeline", "aria-label": "transitions"},
    rows.map((row) =>
      h(
        "li",
        {class: row.to_phase === "rolled_back" || row.to_phase === "aborted" ? "bad" : row.to_phase === "succeeded" ? "good" : "", "data-action": row.action},
        h("strong", {}, row.action), ` ${time(row.at)} · ${bp(row.from_share)} → ${bp(row.to_share)} (${row.to_phase}) · ${row.actor}`,
        row.reason ? h("div", {class: "muted small"}, row.reason) : null,
      ),
    ),
  );
}

const SHOWN = 200; // evaluations drawn in the table (the newest); older ones are one API page away

/** The controller's evaluations (GET /rollouts/{id}/evaluations, oldest first), and the
 * evidence of each controller transition the evaluations lack (rollouts judged before the
 * server kept evaluations): one list, newest first. */
function measurementsOf(rows, evaluations) {
  const byAt = new Map();
  for (const e of evaluations) {
    byAt.set(e.at, {at: e.at, seq: e.seq, step: e.step, decision: e.decision, verdict: e.verdict, reason: e.reason, gates: (e.evidence && e.evidence.gates) || []});
  }
  for (const row of rows) {
    if (row.evidence && row.evidence.gates && !byAt.has(row.at)) {
      byAt.set(row.at, {at: row.at, seq: null, step: row.from_step, decision: row.action, verdict: row.evidence.verdict || null, reason: row.reason || "", gates: row.evidence.gates});
    }
  }
  return [...byAt.values()].sort((a, b) => (a.at < b.at ? 1 : -1));
}

function measurementsTable(all, total) {
  if (all.length === 0) return h("p", {class: "muted"}, "No evaluation yet.");
  const items = all.slice(0, SHOWN);
  const count = Math.max(total, all.length);
  const more = count > items.length ? ` (the newest ${items.length} of ${number(count)})` : "";
  return h(
    "div",
    {class: "table-wrap"},
    h(
      "table",
      {class: "measurements"},
      h("caption", {}, `Newest first${more}: each gate's verdict, the canary's value against the baseline's. Kept when the step or the decision changes, else one a minute.`),
      h("thead", {}, h("tr", {}, ["When", "Step", "Decision", "Data", "Gates", "Reason"].map((t) => h("th", {scope: "col"}, t)))),
      h(
        "tbody",
        {},
        items.map((m) =>
          h(
            "tr",
            {"data-at": m.at, "data-seq": m.seq === null ? null : String(m.seq)},
            h("td", {}, time(m.at)),
            h("td", {}, String(m.step + 1)),
            h("td", {}, badge(m.decision)),
            h("td", {}, m.verdict ? badge(m.verdict) : "–"),
            h("td", {}, h("ul", {class: "checks"}, m.gates.map((g) => h("li", {}, `${g.gate}: `, badge(g.verdict), gateValues(g))))),
            h("td", {class: "small"}, m.reason),
          ),
        ),
      ),
    ),
  );
}

function gateValues(gate) {
  const evidence = gate.evidence || {};
  const format = metricFormat(gate.metric);
  const value = (side) => {
    if (!side) return null;
    if (side.rate !== undefined) return format(side.rate);
    if (side.quantile !== undefined) return format(side.quantile);
    if (side.value !== undefined) return format(side.value);
    return null;
  };
  const c = value(evidence.canary);
  const b = value(evidence.baseline);
  return c !== null || b !== null ? ` ${c ?? "–"} vs ${b ?? "–"}` : "";
}

export function mount({root, params, refresh}) {
  const id = params[0];
  const header = h("div");
  const status = h("section", {class: "card", "aria-labelledby": "status-title"});
  const buttons = h("div", {class: "buttons"});
  const reason = h("input", {id: "action-reason", type: "text", maxlength: "1000", placeholder: "optional, kept in the history"});
  const actionMessage = h("div", {class: "notice", role: "alert", id: "action-message"});
  const charts = h("section", {class: "card", "aria-labelledby": "charts-title"});
  const judgement = h("section", {class: "card", "aria-labelledby": "judgement-title"});
  const measurements = h("section", {class: "card", "aria-labelledby": "measurements-title"});
  const transitions = h("section", {class: "card", "aria-labelledby": "timeline-title"});
  const history = h("section", {class: "card", "aria-labelledby": "history-title"});
  const spec = h("section", {class: "card", "aria-labelledby": "spec-title"});
  const writer = can("write");
  const drawCharts = mountCharts(charts, id);
  fill(
    root,
    h("p", {class: "crumbs"}, h("a", {href: "#/rollouts"}, "Rollouts"), " / ", `#${id}`),
    header,
    status,
    writer
      ? h(
          "section",
          {class: "card", "aria-labelledby": "actions-title", id: "actions"},
          h("h2", {id: "actions-title"}, "Actions"),
          h("div", {class: "reason"}, h("label", {for: "action-reason"}, "Reason"), reason),
          buttons,
          actionMessage,
        )
      : null,
    charts,
    judgement,
    measurements,
    transitions,
    history,
    spec,
  );
  let view = null;
  // the controller's evaluations read so far (the newest SHOWN), and the last seq read
  let evaluations = [];
  let evaluationCount = 0;
  let lastSeq = 0;

  /** Read the evaluations after the last one read, page by page (oldest first). */
  async function readEvaluations() {
    for (;;) {
      const page = await api(`rollouts/${id}/evaluations${query({since: lastSeq, limit: 1000})}`);
      if (page.length === 0) return;
      evaluations = evaluations.concat(page).slice(-SHOWN);
      evaluationCount += page.length;
      lastSeq = page[page.length - 1].seq;
      if (page.length < 1000) return;
    }
  }

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
    const failed = failedStep(view, rows);
    fill(
      status,
      h("h2", {id: "status-title"}, "Status"),
      h(
        "dl",
        {class: "facts"},
        h("dt", {}, "Phase"), h("dd", {id: "phase"}, badge(view.phase)),
        h("dt", {}, "Step"), h("dd", {id: "step"}, failed !== null ? `${failed + 1} of ${view.steps} (${view.phase === "rolled_back" ? "rolled back" : "aborted"} there)` : `${view.step + 1} of ${view.steps} (${view.step_percent}%)`),
        h("dt", {}, "Share"), h("dd", {id: "share"}, meter(view.share_percent, `share of ${view.variant}`), ` ${view.share_percent}% on ${view.variant}`),
        h("dt", {}, "Attempt"), h("dd", {}, String(view.attempt)),
        h("dt", {}, "Version"), h("dd", {id: "version"}, String(view.version)),
        clock ? [h("dt", {}, "Bake ends"), h("dd", {}, `${time(clock.bake_ends_at)} (${relative(clock.bake_ends_at)})`)] : null,
        clock ? [h("dt", {}, "Pauses without verdict"), h("dd", {}, `${time(clock.expires_at)} (${relative(clock.expires_at)})`)] : null,
      ),
      stepBar(view, rows),
      h("p", {}, h("a", {href: `#/metrics${query({flag: view.flag, environment: view.environment})}`}, `Metrics of ${view.flag} in ${view.environment}`)),
    );
    if (writer) {
      const legal = view.legal_manual_actions;
      if (buttons.dataset.actions !== legal.join(",") || buttons.querySelector("button:disabled")) {
        buttons.dataset.actions = legal.join(",");
        renderButtons(legal);
      }
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
            h("div", {class: "table-wrap"}, gatesTable(j.evidence && j.evidence.gates)),
            j.evidence ? rawJson("All evidence (JSON)", j.evidence) : null,
          ]
        : h("p", {class: "muted"}, "The controller has not judged this rollout yet."),
    );
    fill(
      measurements,
      h("h2", {id: "measurements-title"}, "Judgements over time"),
      measurementsTable(measurementsOf(rows, evaluations), evaluationCount),
    );
    fill(transitions, h("h2", {id: "timeline-title"}, "Timeline"), timeline(rows));
    fill(history, h("h2", {id: "history-title"}, "History"), historyTable(rows));

    const s = view.spec;
    fill(
      spec,
      h("h2", {id: "spec-title"}, "Spec"),
      h("ul", {class: "gate-specs"}, (s.gates || []).map((gate) => h("li", {}, gateSpec(gate)))),
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
      const [fresh, rows] = await Promise.all([api(`rollouts/${id}`), api(`rollouts/${id}/history`), readEvaluations()]);
      view = fresh;
      render(rows);
      await drawCharts(view, rows);
    },
  };
}
