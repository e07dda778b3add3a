// Rollouts, newest first: phase, step and share at a glance.

import {api, can, query} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {relative} from "../format.js";

export function meter(percent, label) {
  const bar = h("span");
  bar.style.width = `${Math.max(0, Math.min(100, percent))}%`;
  return h(
    "span",
    {class: "meter", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": String(percent), "aria-label": label},
    bar,
  );
}

export function mount({root, refresh}) {
  const onlyActive = h("input", {type: "checkbox", id: "only-active", onchange: () => refresh()});
  const body = h("div", {class: "table-wrap"});
  fill(
    root,
    h("h1", {tabindex: "-1"}, "Rollouts"),
    h("p", {class: "controls"}, h("label", {for: "only-active"}, onlyActive, " Active only (pending, progressing, paused)"), can("write") ? h("a", {class: "button", href: "#/rollouts/new"}, "Start a rollout") : null),
    body,
  );
  return {
    async refresh() {
      const rollouts = await api(`rollouts${query({active: onlyActive.checked ? "true" : "", limit: 200})}`);
      if (rollouts.length === 0) {
        fill(body, h("p", {class: "muted"}, "No rollouts. Start one with POST /api/v1/rollouts or `rollwise rollout start`."));
        return;
      }
      const head = ["#", "Flag", "Environment", "Canary ← baseline", "Phase", "Step", "Share", "Attempt", "Updated"];
      fill(
        body,
        h(
          "table",
          {class: "rollouts"},
          h("thead", {}, h("tr", {}, head.map((title) => h("th", {scope: "col"}, title)))),
          h(
            "tbody",
            {},
            rollouts.map((r) =>
              h(
                "tr",
                {"data-rollout": String(r.id)},
                h("td", {}, h("a", {href: `#/rollouts/${r.id}`}, `#${r.id}`)),
                h("td", {}, h("a", {href: `#/rollouts/${r.id}`}, r.flag)),
                h("td", {}, r.environment),
                h("td", {}, `${r.variant} ← ${r.baseline}`, h("div", {class: "muted"}, r.strategy)),
                h("td", {}, badge(r.phase)),
                h("td", {}, `${r.step + 1} of ${r.steps} (${r.step_percent}%)`),
                h("td", {class: "share"}, meter(r.share_percent, `share of ${r.variant}`), ` ${r.share_percent}%`),
                h("td", {}, String(r.attempt)),
                h("td", {}, relative(r.updated_at)),
              ),
            ),
          ),
        ),
      );
    },
  };
}
