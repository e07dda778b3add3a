// Notification channels: where rollout and alert notifications go (secrets masked by the
// API). Write tokens can add one, send a test, enable/disable or delete it.

import {api, can, describe} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {field, showErrors} from "../forms.js";
import {relative} from "../format.js";

const EXAMPLES = {
  webhook: {url: "the receiver's URL", secret: "optional signing secret"},
  slack: {url: "the Slack incoming-webhook URL"},
  email: {host: "the SMTP host", port: 587, sender: "the From address", recipients: ["someone's address"]},
  nop: {},
};
const enc = encodeURIComponent;

export function mount({root, refresh}) {
  const writer = can("write");
  const summary = h("div", {class: "notice", role: "alert", id: "channel-message"});
  const list = h("div", {class: "table-wrap"});
  const name = h("input", {type: "text", maxlength: "64"});
  const type = h("select", {}, Object.keys(EXAMPLES).map((t) => h("option", {value: t}, t)));
  const config = h("textarea", {rows: "6", spellcheck: "false"});
  const example = () => {
    config.value = JSON.stringify(EXAMPLES[type.value], null, 2);
  };
  type.addEventListener("change", example);
  example();
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-label": "new channel"},
    field("channel-name", "Name", name),
    field("channel-type", "Type", type),
    field("channel-config", "Settings (JSON)", config, "The type's fields (docs/notifications.md); secrets are stored, and shown masked"),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Add channel")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let settings;
    try {
      settings = JSON.parse(config.value || "{}");
    } catch (error) {
      fill(summary, h("p", {class: "error"}, `Settings are not JSON: ${error.message}`));
      return;
    }
    try {
      await api("notification-channels", {method: "POST", body: {config: {...settings, type: type.value, name: name.value.trim()}}});
      fill(summary, h("p", {class: "ok"}, `Added ${name.value.trim()}.`));
      name.value = "";
      refresh();
    } catch (error) {
      showErrors(form, summary, error, {"config.name": "channel-name", config: "channel-config", "config.type": "channel-type"});
    }
  });

  async function act(channel, what) {
    try {
      if (what === "delete") {
        if (!window.confirm(`Delete channel ${channel.name}? Its pending notifications are not sent.`)) return;
        await api(`notification-channels/${enc(channel.name)}`, {method: "DELETE", version: channel.version});
      } else if (what === "test") {
        await api(`notification-channels/${enc(channel.name)}/test`, {method: "POST"});
      } else {
        await api(`notification-channels/${enc(channel.name)}`, {method: "PATCH", body: {enabled: what === "enable", version: channel.version}});
      }
      fill(summary, h("p", {class: "ok"}, `${channel.name}: ${what === "test" ? "test notification queued" : `${what}d`}.`));
    } catch (error) {
      fill(summary, h("p", {class: "error"}, `Could not ${what} ${channel.name}: ${describe(error)}`));
    }
    refresh();
  }

  fill(
    root,
    h("h1", {tabindex: "-1"}, "Notification channels"),
    h("p", {class: "lede"}, "Where rollout transitions and alerts are sent. Alert rules are on the ", h("a", {href: "#/alerts"}, "Alerts"), " page."),
    summary,
    writer ? h("section", {class: "card", "aria-labelledby": "new-channel-title"}, h("h2", {id: "new-channel-title"}, "New channel"), form) : null,
    h("section", {class: "card", "aria-labelledby": "channels-title"}, h("h2", {id: "channels-title"}, "Channels"), list),
  );
  return {
    async refresh() {
      const channels = await api("notification-channels");
      fill(
        list,
        channels.length === 0
          ? h("p", {class: "muted"}, "No channels: notifications are kept in the outbox until one exists.")
          : h(
              "table",
              {class: "channels"},
              h("thead", {}, h("tr", {}, ["Name", "Type", "State", "Settings", "Updated", writer ? "" : null].filter((t) => t !== null).map((t) => h("th", {scope: "col"}, t)))),
              h(
                "tbody",
                {},
                channels.map((c) =>
                  h(
                    "tr",
                    {"data-channel": c.name},
                    h("th", {scope: "row"}, c.name),
                    h("td", {}, c.type),
                    h("td", {}, c.enabled ? badge("enabled", "ok") : badge("disabled", "muted")),
                    h("td", {}, h("details", {class: "raw"}, h("summary", {}, "settings"), h("pre", {}, JSON.stringify(c.config, null, 2)))),
                    h("td", {}, relative(c.updated_at)),
                    writer
                      ? h("td", {}, h("div", {class: "buttons"},
                          h("button", {type: "button", class: "small", onclick: () => act(c, "test")}, "Send test"),
                          h("button", {type: "button", class: "small secondary", onclick: () => act(c, c.enabled ? "disable" : "enable")}, c.enabled ? "Disable" : "Enable"),
                          h("button", {type: "button", class: "small danger", onclick: () => act(c, "delete")}, "Delete")))
                      : null,
                  ),
                ),
              ),
            ),
      );
    },
  };
}
