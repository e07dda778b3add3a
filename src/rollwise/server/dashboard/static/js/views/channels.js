// Notification channels: where rollout and alert notifications go (secrets masked by the
// API). Write tokens add one, edit it, send a test, enable/disable or delete it; an admin
// token also sees whether the test was delivered (the outbox is admin only).

import {api, can, describe} from "../api.js";
import {badge, fill, h} from "../dom.js";
import {relative} from "../format.js";
import {channelForm} from "./channel_form.js";

const enc = encodeURIComponent;
const DELIVERY_POLL_MS = 1000;
const DELIVERY_WAIT_MS = 120_000;

/** Where a channel sends, in a few words (its secrets are never part of it). */
export function destination(channel) {
  const config = channel.config || {};
  if (channel.type === "webhook") return config.url || "–";
  if (channel.type === "slack") return config.channel ? `Slack ${config.channel}` : "Slack (the webhook's channel)";
  if (channel.type === "email") return `${(config.to || []).join(", ")} via ${config.host}${config.port ? `:${config.port}` : ""}`;
  if (channel.type === "nop") return "nowhere (drops every notification)";
  return channel.type;
}

function wants(channel) {
  const config = channel.config || {};
  const kinds = (config.kinds || ["*"]).join(", ");
  return `${kinds === "*" ? "all kinds" : kinds}, ${config.min_severity || "info"} and above`;
}

export function mount({root, refresh}) {
  const writer = can("write");
  const admin = can("admin");
  const notice = h("div", {class: "notice", role: "status", "aria-live": "polite", id: "channel-notice"});
  const list = h("div", {class: "table-wrap"});
  const say = (kind, text) => fill(notice, h("p", {class: kind}, text));
  const form = writer
    ? channelForm({
        done: (message) => {
          say("ok", message);
          refresh();
        },
        cancel: () => notice.replaceChildren(),
      })
    : null;

  const tests = new Map(); // channel name → where its last test from this page stands

  /** Follow the test notification ``id`` in the outbox until it is delivered or failed; its
   * channel's row shows where it stands (never the page's notice: that belongs to the
   * latest action). */
  async function watchDelivery(channel, id) {
    const until = Date.now() + DELIVERY_WAIT_MS;
    while (Date.now() < until && root.isConnected && tests.get(channel)?.id === id) {
      await new Promise((resolve) => setTimeout(resolve, DELIVERY_POLL_MS));
      let rows;
      try {
        rows = await api(`outbox?channel=${enc(channel)}&limit=50`);
      } catch {
        continue; // the next look may work; the row says "queued" meanwhile
      }
      const row = rows.find((r) => r.id === id);
      if (!row || !root.isConnected || tests.get(channel)?.id !== id) continue;
      const state = row.status === "pending" && row.last_error ? "retrying" : row.status;
      const before = tests.get(channel);
      if (before.state !== state || before.error !== row.last_error) {
        tests.set(channel, {id, state, error: row.last_error});
        refresh();
      }
      if (state === "delivered" || state === "failed") return;
    }
  }

  function testStatus(name) {
    const test = tests.get(name);
    if (!test) return null;
    const words = {
      queued: "test queued",
      pending: "test queued",
      retrying: `test not delivered yet, retrying: ${test.error}`,
      delivered: "test delivered",
      failed: `test failed: ${test.error || "no reason given"}`,
    };
    return h("div", {class: `small test-status test-${test.state}`, "data-state": test.state}, words[test.state] || test.state);
  }

  async function act(channel, what) {
    try {
      if (what === "delete") {
        if (!window.confirm(`Delete channel ${channel.name}? Its pending notifications are not sent.`)) return;
        await api(`notification-channels/${enc(channel.name)}`, {method: "DELETE", version: channel.version});
        if (form && form.editing && form.editing.name === channel.name) form.reset();
        say("ok", `${channel.name}: deleted.`);
      } else if (what === "test") {
        const [queued] = await api(`notification-channels/${enc(channel.name)}/test`, {method: "POST"});
        tests.set(channel.name, {id: queued.id, state: "queued", error: null});
        say("ok", `${channel.name}: test notification queued${admin ? "; its row shows when it is delivered" : " (the controller delivers it)"}.`);
        if (admin) watchDelivery(channel.name, queued.id);
      } else {
        await api(`notification-channels/${enc(channel.name)}`, {method: "PATCH", body: {enabled: what === "enable", version: channel.version}});
        say("ok", `${channel.name}: ${what}d.`);
      }
    } catch (error) {
      say("error", `Could not ${what === "test" ? "send a test to" : what} ${channel.name}: ${describe(error)}`);
    }
    refresh();
  }

  function edit(channel) {
    notice.replaceChildren();
    form.edit(channel);
    form.node.scrollIntoView({block: "start"});
  }

  fill(
    root,
    h("h1", {tabindex: "-1"}, "Notification channels"),
    h("p", {class: "lede"}, "Where rollout transitions and alerts are sent. Alert rules are on the ", h("a", {href: "#/alerts"}, "Alerts"), " page."),
    notice,
    h("section", {class: "card", "aria-labelledby": "channels-title"}, h("h2", {id: "channels-title"}, "Channels"), list),
    form ? form.node : null,
  );
  return {
    async refresh() {
      const channels = await api("notification-channels");
      const head = ["Name", "Type", "Sends to", "Wants", "State", "Settings", "Updated", ...(writer ? ["Actions"] : [])];
      fill(
        list,
        channels.length === 0
          ? h("p", {class: "muted"}, `No channels yet: rollout and alert notifications go nowhere until one exists${writer ? " (add one below)" : ""}.`)
          : h(
              "table",
              {class: "channels"},
              h("thead", {}, h("tr", {}, head.map((t) => h("th", {scope: "col"}, t)))),
              h(
                "tbody",
                {},
                channels.map((c) =>
                  h(
                    "tr",
                    {"data-channel": c.name},
                    h("th", {scope: "row"}, c.name),
                    h("td", {}, c.type),
                    h("td", {class: "where"}, destination(c)),
                    h("td", {}, wants(c)),
                    h("td", {class: "state"}, c.enabled ? badge("enabled", "ok") : badge("disabled", "muted"), testStatus(c.name)),
                    h("td", {}, h("details", {class: "raw"}, h("summary", {}, "settings"), h("pre", {}, JSON.stringify(c.config, null, 2)))),
                    h("td", {}, relative(c.updated_at)),
                    writer
                      ? h("td", {}, h("div", {class: "buttons"},
                          h("button", {type: "button", class: "small", onclick: () => act(c, "test"), "aria-label": `Send test to ${c.name}`}, "Send test"),
                          h("button", {type: "button", class: "small secondary", onclick: () => edit(c), "aria-label": `Edit ${c.name}`}, "Edit"),
                          h("button", {type: "button", class: "small secondary", onclick: () => act(c, c.enabled ? "disable" : "enable"), "aria-label": `${c.enabled ? "Disable" : "Enable"} ${c.name}`}, c.enabled ? "Disable" : "Enable"),
                          h("button", {type: "button", class: "small danger", onclick: () => act(c, "delete"), "aria-label": `Delete ${c.name}`}, "Delete")))
                      : null,
                  ),
                ),
              ),
            ),
      );
    },
  };
}
