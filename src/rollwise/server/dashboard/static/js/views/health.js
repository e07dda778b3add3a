// An environment's health now: a status per variant, flag and environment, with reasons;
// and which controller replica leads (or that none does).

import {ApiError, api, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {number, percent, relative, seconds} from "../format.js";

const WINDOWS = ["1m", "5m", "15m", "1h", "24h"];

export function mount({root, query: params}) {
  const controls = h("form", {class: "controls", "aria-label": "what to show"});
  const summary = h("section", {class: "card", "aria-labelledby": "env-status"});
  const controller = h("section", {class: "card", "aria-labelledby": "controller-status", "data-controller": ""});
  const flags = h("div");
  const doctor = h("section", {class: "card", "aria-labelledby": "doctor-title", id: "doctor", hidden: true});
  fill(root, h("h1", {tabindex: "-1"}, "Health"), controller, controls, summary, doctor, flags);
  let chosen = null;

  async function choose() {
    const environments = await api("environments");
    if (environments.length === 0) return null;
    const keys = environments.map((e) => e.key);
    const environment = keys.includes(params.get("environment")) ? params.get("environment") : keys.includes("production") ? "production" : keys[0];
    const window = WINDOWS.includes(params.get("window")) ? params.get("window") : "5m";
    fill(
      controls,
      h("label", {for: "environment"}, "Environment"),
      h("select", {id: "environment", name: "environment"}, environments.map((e) => h("option", {value: e.key, selected: e.key === environment}, e.name || e.key))),
      h("label", {for: "window"}, "Window"),
      h("select", {id: "window", name: "window"}, WINDOWS.map((w) => h("option", {value: w, selected: w === window}, `last ${w}`))),
    );
    controls.addEventListener("change", () => {
      const data = new FormData(controls);
      location.hash = `#/health${query({environment: data.get("environment"), window: data.get("window")})}`;
    });
    return {environment, window};
  }

  return {
    async refresh() {
      await showController(controller);
      chosen = chosen || (await choose());
      if (!chosen) {
        fill(summary, h("p", {class: "muted"}, "No environments yet."));
        return;
      }
      const result = await api(`monitoring/health${query(chosen)}`);
      await showDoctor(doctor, chosen.environment);
      const r = result.reporting;
      fill(
        summary,
        h("h2", {id: "env-status"}, `${result.environment}: `, badge(result.status)),
        result.reasons.length ? h("ul", {}, result.reasons.map((reason) => h("li", {}, reason))) : null,
        h(
          "p",
          {class: "muted"},
          `SDK reports in the window: ${number(r.batches)} batches from ${number(r.instances)} instances, last ${relative(r.last_report_at)}`,
          r.dropped_batches || r.dropped_windows || r.dropped_samples
            ? ` · dropped by SDKs: ${r.dropped_batches} batches, ${r.dropped_windows} windows, ${r.dropped_samples} samples`
            : "",
        ),
        h(
          "p",
          {class: "muted small"},
          `Degraded: error rate above ${percent(result.thresholds.max_error_rate)} or fallbacks above ${percent(result.thresholds.max_fallback_rate)}; ` +
            `warning: p95 above ${result.thresholds.max_latency_ratio}× the baseline or mismatches above ${percent(result.thresholds.max_mismatch_rate)} ` +
            `(each on at least ${result.thresholds.min_requests} requests).`,
        ),
      );
      if (result.flags.length === 0) {
        fill(flags, h("p", {class: "muted"}, "No flag had telemetry in this window."));
        return;
      }
      const head = ["Variant", "Status", "Requests", "Error rate", "p95", "Usage share", "Mismatches", "Fallbacks", "Reasons"];
      fill(
        flags,
        result.flags.map((flag) =>
          h(
            "section",
            {class: "card", "data-flag": flag.flag},
            h("h2", {}, h("a", {href: `#/metrics${query({flag: flag.flag, environment: result.environment})}`}, flag.flag), " ", badge(flag.status)),
            h(
              "div",
              {class: "table-wrap"},
              h(
              "table",
              {},
              h("thead", {}, h("tr", {}, head.map((t) => h("th", {scope: "col"}, t)))),
              h(
                "tbody",
                {},
                flag.variants.map((v) =>
                  h(
                    "tr",
                    {},
                    h("th", {scope: "row"}, v.variant, v.variant === flag.baseline ? h("span", {class: "muted"}, " (baseline)") : null),
                    h("td", {}, badge(v.status)),
                    h("td", {class: "num"}, number(v.requests)),
                    h("td", {class: "num"}, percent(v.error_rate)),
                    h("td", {class: "num"}, seconds(v.p95)),
                    h("td", {class: "num"}, percent(v.usage_share)),
                    h("td", {class: "num"}, number(v.mismatches)),
                    h("td", {class: "num"}, number(v.fallbacks)),
                    h("td", {}, v.reasons.join("; ")),
                  ),
                ),
              ),
              ),
            ),
          ),
        ),
      );
    },
  };
}

const SEVERITY = {error: "degraded", critical: "degraded", warning: "warning", info: "info"};

/** The doctor's findings (GET /monitoring/doctor), when this control plane has a doctor:
 * a 404 hides the section. */
async function showDoctor(card, environment) {
  let result;
  try {
    result = await api(`monitoring/doctor${query({environment})}`);
  } catch (error) {
    if (error instanceof ApiError && (error.status === 404 || error.status === 405)) {
      card.hidden = true;
      return;
    }
    card.hidden = false;
    fill(card, h("h2", {id: "doctor-title"}, "Doctor"), h("p", {class: "error"}, `The doctor did not answer: ${error.message}`));
    return;
  }
  const findings = (result && result.findings) || [];
  card.hidden = false;
  fill(
    card,
    h("h2", {id: "doctor-title"}, "Doctor: ", findings.length ? badge(`${findings.length} finding${findings.length === 1 ? "" : "s"}`, findings.some((f) => f.severity === "error" || f.severity === "critical") ? "degraded" : "warning") : badge("no findings", "ok")),
    findings.length
      ? h(
          "ul",
          {class: "findings"},
          findings.map((f) =>
            h(
              "li",
              {"data-code": f.code},
              badge(f.severity, SEVERITY[f.severity] || "info"), " ", h("strong", {}, f.subject || ""), ` ${f.message}`,
              f.fix ? h("div", {class: "muted small"}, `Fix: ${f.fix}`) : null,
              h("div", {class: "muted small"}, h("code", {}, f.code)),
            ),
          ),
        )
      : h("p", {class: "muted"}, "The fleet evaluates what the control plane published."),
  );
}

const LEAD = {led: ["leading", "ok"], no_leader: ["no leader", "degraded"], unknown: ["unknown", "muted"]};

/** The controller card: who holds the lease, how fresh it is, and this server's own controller. */
async function showController(card) {
  const heading = (status) => h("h2", {id: "controller-status"}, "Controller: ", badge(...(LEAD[status] || LEAD.unknown)));
  let status;
  try {
    status = await api("monitoring/controller");
  } catch (error) {
    fill(card, heading("unknown"), h("p", {class: "muted"}, `Leadership is unknown: ${error.message}`));
    return;
  }
  const leader = status.leader;
  const mine = status.this_replica;
  fill(
    card,
    heading(status.status),
    leader
      ? h(
          "p",
          {"data-leader": leader.replica},
          "Leader: ",
          h("strong", {}, leader.replica),
          leader.epoch !== null && leader.epoch !== undefined ? ` · epoch ${leader.epoch}` : "",
          leader.age_seconds !== undefined ? ` · lease renewed ${seconds(leader.age_seconds)} ago` : "",
        )
      : h(
          "p",
          {},
          status.status === "unknown"
            ? `Leadership is unknown: ${status.error || "the database did not answer"}.`
            : "No controller replica holds the lease: rollouts, alerts and notifications wait until one runs.",
        ),
    h(
      "p",
      {class: "muted"},
      mine
        ? `This server runs a controller (${mine.replica || "no lease"}): ${mine.leading ? "leading" : "following"}.`
        : "This server runs no controller.",
    ),
  );
}
