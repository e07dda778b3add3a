// The audit log: who changed what, when, from what to what; filtered by actor, resource
// and time (GET /audit), newest first, paged.

import {api, query} from "../api.js";
import {fill, h} from "../dom.js";
import {time} from "../format.js";
import {field} from "../forms.js";

const TYPES = ["", "flag", "environment", "rollout", "token", "alert_rule", "channel", "setting"];

function changed(before, after) {
  if (!before || !after) return null;
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !["version", "updated_at", "created_at"].includes(k));
  const out = keys.filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  return out.length ? out.map((k) => `${k}: ${JSON.stringify(before[k]) ?? "–"} → ${JSON.stringify(after[k]) ?? "–"}`) : null;
}

function localInput(value) {
  return value ? new Date(value).toISOString() : "";
}

export function mount({root, query: params}) {
  const actor = h("input", {type: "text", value: params.get("actor") || "", placeholder: "token:name:id"});
  const type = h("select", {}, TYPES.map((t) => h("option", {value: t, selected: t === (params.get("target_type") || "")}, t || "any")));
  const target = h("input", {type: "text", value: params.get("target") || "", placeholder: "e.g. checkout, 7"});
  const since = h("input", {type: "datetime-local", value: params.get("since") ? params.get("since").slice(0, 16) : ""});
  const until = h("input", {type: "datetime-local", value: params.get("until") ? params.get("until").slice(0, 16) : ""});
  const form = h(
    "form",
    {class: "form", role: "search", "aria-label": "filter the audit log"},
    field("audit-actor", "Actor", actor),
    field("audit-type", "Resource type", type),
    field("audit-target", "Resource", target),
    field("audit-since", "From (your time)", since),
    field("audit-until", "Until (your time)", until),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Filter"), h("a", {class: "button secondary", href: "#/audit"}, "Clear")),
  );
  const list = h("div", {class: "table-wrap"});
  const more = h("p");
  fill(root, h("h1", {tabindex: "-1"}, "Audit log"), form, list, more);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = `#/audit${query({actor: actor.value.trim(), target_type: type.value, target: target.value.trim(), since: since.value, until: until.value})}`;
  });
  const filters = {
    actor: params.get("actor") || "",
    target_type: params.get("target_type") || "",
    target: params.get("target") || "",
    since: localInput(params.get("since")),
    until: localInput(params.get("until")),
  };
  let pages = 1;
  return {
    async refresh() {
      let rows = [];
      let before = "";
      for (let page = 0; page < pages; page++) {
        const chunk = await api(`audit${query({...filters, limit: 100, before_id: before})}`);
        rows = rows.concat(chunk);
        if (chunk.length < 100) break;
        before = chunk[chunk.length - 1].id;
      }
      fill(
        list,
        rows.length === 0
          ? h("p", {class: "muted"}, "No entry matches.")
          : h(
              "table",
              {class: "audit"},
              h("caption", {}, `${rows.length} entries, newest first`),
              h("thead", {}, h("tr", {}, ["When", "Actor", "Action", "Resource", "Environment", "Change"].map((t) => h("th", {scope: "col"}, t)))),
              h(
                "tbody",
                {},
                rows.map((row) => {
                  const diff = changed(row.before, row.after);
                  return h(
                    "tr",
                    {"data-audit": String(row.id)},
                    h("td", {}, time(row.at)),
                    h("td", {}, h("a", {href: `#/audit${query({actor: row.actor})}`}, row.actor)),
                    h("td", {}, row.action),
                    h("td", {}, h("a", {href: `#/audit${query({target_type: row.target_type, target: row.target})}`}, `${row.target_type} ${row.target}`)),
                    h("td", {}, row.environment || "–"),
                    h("td", {class: "small"}, diff ? h("ul", {class: "checks"}, diff.slice(0, 8).map((line) => h("li", {}, line))) : null,
                      h("details", {class: "raw"}, h("summary", {}, "before / after"), h("pre", {}, JSON.stringify({before: row.before, after: row.after}, null, 2)))),
                  );
                }),
              ),
            ),
      );
      fill(more, rows.length === pages * 100 ? h("button", {type: "button", class: "secondary", onclick: () => { pages += 1; this.refresh(); }}, "Older entries") : null);
    },
  };
}
