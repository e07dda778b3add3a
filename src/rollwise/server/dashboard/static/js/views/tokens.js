// API and SDK tokens (admin): create one (its secret is shown once), revoke one.

import {api, can, describe} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {field, refused, showErrors} from "../forms.js";
import {relative, time} from "../format.js";

export function mount({root, refresh}) {
  if (!can("admin")) return refused(root, "Tokens", "admin");
  const summary = h("div", {class: "notice", role: "alert", id: "token-message"});
  const secret = h("div", {id: "token-secret", "aria-live": "polite"});
  const name = h("input", {type: "text", maxlength: "200", required: true});
  const scope = h("select", {}, ["read", "write", "admin", "sdk"].map((s) => h("option", {value: s}, s)));
  const environment = h("select", {});
  const list = h("div", {class: "table-wrap"});
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-label": "new token"},
    field("token-name", "Name", name, "Who or what uses it: a person, a CI job, a service"),
    field("token-scope", "Scope", scope, "read ⊂ write ⊂ admin; sdk: one environment's config and telemetry"),
    field("token-environment", "Environment", environment, "sdk tokens only"),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Create token")),
  );
  const syncScope = () => {
    for (const node of form.querySelectorAll("#token-environment, label[for=token-environment], #token-environment-hint")) node.hidden = scope.value !== "sdk";
  };
  scope.addEventListener("change", syncScope);
  syncScope();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {name: name.value.trim(), scope: scope.value};
    if (scope.value === "sdk") body.environment = environment.value;
    try {
      const created = await api("tokens", {method: "POST", body});
      name.value = "";
      summary.replaceChildren();
      fill(
        secret,
        h("div", {class: "card"},
          h("h2", {}, `Token ${created.token.name} (${created.token.scope})`),
          h("p", {}, "The secret, shown this once: store it now. It cannot be shown again."),
          h("p", {}, h("code", {class: "secret", id: "new-secret"}, created.secret)),
          h("button", {type: "button", class: "small secondary", onclick: () => secret.replaceChildren()}, "I stored it: hide it")),
      );
      refresh();
    } catch (error) {
      showErrors(form, summary, error, {name: "token-name", scope: "token-scope", environment: "token-environment"});
    }
  });

  async function revoke(token) {
    if (!window.confirm(`Revoke ${token.name}? Whatever uses it is refused at once.`)) return;
    try {
      await api(`tokens/${encodeURIComponent(token.id)}/revoke`, {method: "POST"});
      fill(summary, h("p", {class: "ok"}, `Revoked ${token.name}.`));
    } catch (error) {
      fill(summary, h("p", {class: "error"}, `Could not revoke ${token.name}: ${describe(error)}`));
    }
    refresh();
  }

  fill(root, h("h1", {tabindex: "-1"}, "Tokens"), secret, h("section", {class: "card", "aria-labelledby": "new-token-title"}, h("h2", {id: "new-token-title"}, "New token"), summary, form), h("section", {class: "card", "aria-labelledby": "tokens-title"}, h("h2", {id: "tokens-title"}, "Tokens"), list));
  return {
    async refresh() {
      const [tokens, environments] = await Promise.all([api("tokens"), api("environments")]);
      if (environment.dataset.keys !== environments.map((e) => e.key).join(",")) {
        environment.dataset.keys = environments.map((e) => e.key).join(",");
        fill(environment, environments.map((e) => h("option", {value: e.key}, e.name || e.key)));
      }
      fill(
        list,
        h(
          "table",
          {class: "tokens"},
          h("thead", {}, h("tr", {}, ["Name", "Scope", "Environment", "Created", "Last used", "State", ""].map((t) => h("th", {scope: "col"}, t)))),
          h(
            "tbody",
            {},
            tokens.map((t) =>
              h(
                "tr",
                {"data-token": t.name},
                h("th", {scope: "row"}, t.name, h("div", {class: "muted small"}, t.id)),
                h("td", {}, t.scope),
                h("td", {}, t.environment || "–"),
                h("td", {}, time(t.created_at)),
                h("td", {}, relative(t.last_used_at)),
                h("td", {}, t.revoked ? badge("revoked", "aborted") : badge("active", "ok")),
                h("td", {}, t.revoked ? null : h("button", {type: "button", class: "small danger", onclick: () => revoke(t)}, "Revoke")),
              ),
            ),
          ),
        ),
      );
    },
  };
}
