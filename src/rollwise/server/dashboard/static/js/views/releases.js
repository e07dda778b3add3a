// Releases in one environment (switcher): the history, newest first, with the live release
// marked, each release's rollout as its evidence, and "roll back" (write tokens) naming the
// release it goes back to — computed as the API does: from the newest release deploying or
// live to the newest promoted or superseded one recorded before it.

import {api, can, describe, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {relative, time} from "../format.js";
import {chooseEnvironment} from "./flags.js";

/** What a rollback of ``flag`` would do: {current, target} (target null: nothing to go back to). */
export function rollbackPlan(releases, flag) {
  const mine = releases.filter((r) => r.flag === flag).sort((a, b) => b.id - a.id);
  const current = mine.find((r) => r.outcome === "deploying" || r.outcome === "promoted") || null;
  if (!current) return {current: null, target: null};
  const target = mine.find((r) => r.id < current.id && (r.outcome === "promoted" || r.outcome === "superseded")) || null;
  return {current, target};
}

function progressText(rollout) {
  if (!rollout) return null;
  return h("div", {class: "muted small"}, `${rollout.phase}: step ${rollout.step + 1} of ${rollout.steps}, ${rollout.share_percent}% of traffic`);
}

export function mount({root, query: params, refresh}) {
  const writer = can("write");
  const notice = h("div", {class: "notice", role: "alert", id: "release-message"});
  const envSelect = h("select", {id: "release-environment", name: "environment"});
  const controls = h("form", {class: "controls", "aria-label": "which environment"}, h("label", {for: "release-environment"}, "Environment"), envSelect);
  const reason = h("input", {id: "rollback-reason", type: "text", maxlength: "1000", placeholder: "optional, kept in the audit log"});
  const rollbackButtons = h("div", {class: "buttons"});
  const rollbackCard = writer
    ? h("section", {class: "card", "aria-labelledby": "rollback-title", hidden: true},
        h("h2", {id: "rollback-title"}, "Roll back"),
        h("p", {class: "muted"}, "Sends all traffic to the previous good release at once (a running release rollout is aborted first)."),
        h("div", {class: "reason"}, h("label", {for: "rollback-reason"}, "Reason"), reason),
        rollbackButtons)
    : null;
  const live = h("div", {id: "live-releases"});
  const body = h("div", {class: "table-wrap"});
  fill(
    root,
    h("h1", {tabindex: "-1"}, "Releases"),
    h("p", {class: "lede"}, "Each deployment of a version to an environment, newest first: who deployed which commit, when, and how its rollout ended."),
    controls,
    notice,
    live,
    rollbackCard,
    h("section", {class: "card", "aria-labelledby": "history-title"}, h("h2", {id: "history-title"}, "History"), body),
  );
  let environment = null;

  controls.addEventListener("change", () => {
    environment = envSelect.value;
    sessionStorage.setItem("rollwise.environment", environment);
    history.replaceState(null, "", `#/releases${query({environment})}`);
    notice.replaceChildren();
    refresh();
  });
  controls.addEventListener("submit", (event) => event.preventDefault());

  async function rollback(flag, plan) {
    const question = `Roll back ${flag} in ${environment}: all traffic from ${plan.current.version} back to ${plan.target.version} at once?`;
    if (!window.confirm(question)) return;
    const body = {environment, flag};
    if (reason.value.trim()) body.reason = reason.value.trim();
    try {
      const done = await api("releases/rollback", {method: "POST", body});
      reason.value = "";
      const aborted = done.aborted_rollout_id ? ` (rollout #${done.aborted_rollout_id} aborted)` : "";
      fill(notice, h("p", {class: "ok"}, `Rolled back ${flag} in ${environment}: ${done.from_release.version} → ${done.to_release.version}${aborted}.`));
    } catch (error) {
      fill(notice, h("p", {class: "error"}, `Could not roll back ${flag} in ${environment}: ${describe(error)}`));
    }
    refresh();
  }

  function drawRollback(releases, flags) {
    if (!rollbackCard) return;
    rollbackCard.hidden = releases.length === 0;
    fill(
      rollbackButtons,
      flags.map((flag) => {
        const plan = rollbackPlan(releases, flag);
        if (!plan.current) return h("p", {class: "muted", "data-flag": flag}, `${flag}: no release deploying or live.`);
        if (!plan.target) return h("p", {class: "muted", "data-flag": flag}, `${flag}: ${plan.current.version} has no earlier good release to go back to.`);
        return h("button", {type: "button", class: "danger", "data-flag": flag, onclick: () => rollback(flag, plan)}, `Roll back ${flag}: ${plan.current.version} → ${plan.target.version}`);
      }),
    );
  }

  return {
    async refresh() {
      const environments = await api("environments");
      if (envSelect.dataset.keys !== environments.map((e) => e.key).join(",")) {
        envSelect.dataset.keys = environments.map((e) => e.key).join(",");
        fill(envSelect, environments.map((e) => h("option", {value: e.key}, e.name || e.key)));
      }
      if (environment === null) environment = chooseEnvironment(environments, params.get("environment"));
      envSelect.value = environment;
      if (!environment) {
        fill(body, h("p", {class: "muted"}, "No environments yet."));
        return;
      }
      const releases = await api(`releases${query({environment, limit: 200})}`);
      // a release rolling out: its rollout's progress (one request per release deploying)
      const progress = new Map(
        await Promise.all(releases.filter((r) => r.outcome === "deploying").map(async (r) => [r.id, (await api(`releases/${r.id}`)).rollout])),
      );
      const flags = [...new Set(releases.map((r) => r.flag))];
      drawRollback(releases, flags);
      const lives = releases.filter((r) => r.outcome === "promoted");
      fill(
        live,
        lives.map((r) =>
          h("p", {class: "live-release", "data-flag": r.flag}, h("strong", {}, "Live: "), `${r.flag} ${r.version}`, r.commit ? ` (${r.commit})` : "", `, deployed by ${r.deployed_by} ${relative(r.deployed_at)}`),
        ),
      );
      if (releases.length === 0) {
        fill(body, h("p", {class: "muted"}, `No releases in ${environment}. Record one with \`rollwise deploy\` or POST /api/v1/releases.`));
        return;
      }
      const head = ["#", "Version", ...(flags.length > 1 ? ["Flag"] : []), "Commit", "Deployed by", "Deployed", "Outcome", "Rollout"];
      fill(
        body,
        h(
          "table",
          {class: "releases"},
          h("caption", {class: "muted small"}, flags.length === 1 ? `release flag ${flags[0]}` : `release flags ${flags.join(", ")}`),
          h("thead", {}, h("tr", {}, head.map((title) => h("th", {scope: "col"}, title)))),
          h(
            "tbody",
            {},
            releases.map((r) =>
              h(
                "tr",
                {"data-release": r.version, class: r.outcome === "promoted" ? "live" : null},
                h("td", {}, String(r.id)),
                h("th", {scope: "row"}, r.version, r.outcome === "promoted" ? h("span", {class: "live-mark"}, " live") : null),
                flags.length > 1 ? h("td", {}, r.flag) : null,
                h("td", {}, r.commit ? h("code", {}, r.commit) : "–"),
                h("td", {}, r.deployed_by),
                h("td", {}, time(r.deployed_at), h("div", {class: "muted small"}, relative(r.deployed_at))),
                h("td", {}, badge(r.outcome), progressText(progress.get(r.id))),
                h("td", {}, r.rollout_id ? h("a", {href: `#/rollouts/${r.rollout_id}`}, `#${r.rollout_id}`) : h("span", {class: "muted"}, "none")),
              ),
            ),
          ),
        ),
      );
    },
  };
}
