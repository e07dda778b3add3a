// The form for one notification channel, new or edited: its type's own fields, the
// common filter (kinds, minimum severity), the rest as JSON. Secrets are never shown: left
// empty when editing, a secret keeps its stored value — but the API keeps a stored secret
// only while the channel sends to the same place, so changing where it sends needs each
// secret typed again, and the form says so beside the secret as soon as the place changes.

import {api} from "../api.js";
import {fill, h} from "../dom.js";
import {clearErrors, field, listOf, showErrors} from "../forms.js";

/** What the API shows instead of a stored secret; sent back unchanged, it keeps it. */
export const MASK = "**********";

/** Each type's fields: ``where`` marks those that say where the channel sends (changing one
 * needs the secrets again), ``secret`` those the API stores and never shows. */
export const TYPES = {
  webhook: [
    {key: "url", label: "URL", where: true, hint: "The receiver's http:// or https:// URL; each notification is POSTed there as JSON"},
    {key: "secret", label: "Signing secret", secret: true, hint: "Optional, at least 16 characters: each request is signed with it (X-Rollwise-Signature)"},
  ],
  slack: [
    {key: "url", label: "Webhook URL", secret: true, hint: "Slack's incoming-webhook URL (a secret: whoever has it can post)"},
    {key: "channel", label: "Slack channel", where: true, optional: true, hint: "Optional: a channel other than the webhook's own"},
  ],
  email: [
    {key: "host", label: "SMTP host", where: true},
    {key: "port", label: "Port", where: true, optional: true, number: true, hint: "Empty: 587 for starttls, 465 for ssl, 25 for none"},
    {key: "security", label: "Security", where: true, options: ["starttls", "ssl", "none"]},
    {key: "from", label: "From", where: true, hint: "The sender's address"},
    {key: "to", label: "To", where: true, list: true, hint: "Recipients' addresses, separated by commas"},
    {key: "username", label: "SMTP user", where: true, optional: true, hint: "Optional: log in as this user"},
    {key: "password", label: "SMTP password", secret: true, hint: "Only with an SMTP user"},
  ],
  nop: [],
};
const COMMON = ["type", "name", "kinds", "min_severity"];
const SEVERITIES = ["info", "warning", "critical"];

function controlFor(spec) {
  if (spec.options) return h("select", {}, spec.options.map((o) => h("option", {value: o}, o)));
  if (spec.secret) return h("input", {type: "password", autocomplete: "new-password", spellcheck: "false"});
  return h("input", {type: "text", spellcheck: "false", inputmode: spec.number ? "numeric" : null});
}

/** A form value as the API wants it: numbers as numbers (anything else as typed, for the
 * API to name), lists as arrays, an empty optional field as null. */
function valueOf(spec, control) {
  const text = control.value.trim();
  if (spec.list) return listOf(text);
  if (text === "") return spec.optional ? null : "";
  if (spec.number) return /^\d+$/.test(text) ? Number(text) : text;
  return text;
}

function shown(spec, value) {
  if (value === null || value === undefined) return "";
  return Array.isArray(value) ? value.join(", ") : String(value);
}

/** The channel form. ``done(message)`` runs after a save; ``cancel()`` when an edit is given up.
 * Returns {node, edit(channel), reset()}. */
export function channelForm({done, cancel}) {
  const title = h("h2", {id: "channel-form-title"}, "New channel");
  const summary = h("div", {class: "notice", role: "alert", id: "channel-message"});
  const note = h("p", {class: "hint-block", id: "channel-secret-note"});
  const name = h("input", {type: "text", maxlength: "64", spellcheck: "false"});
  const type = h("select", {}, Object.keys(TYPES).map((t) => h("option", {value: t}, t)));
  const kinds = h("input", {type: "text", value: "*", spellcheck: "false"});
  const severity = h("select", {}, SEVERITIES.map((s) => h("option", {value: s}, s)));
  const other = h("textarea", {rows: "3", spellcheck: "false"});
  const typeFields = h("div", {class: "form-part"});
  const submit = h("button", {type: "submit"}, "Add channel");
  const quit = h("button", {type: "button", class: "secondary", hidden: true}, "Cancel");
  const form = h(
    "form",
    {class: "form", novalidate: true, "aria-labelledby": "channel-form-title"},
    field("channel-name", "Name", name),
    field("channel-type", "Type", type),
    typeFields,
    field("channel-kinds", "Kinds", kinds, "Which notifications it wants: patterns separated by commas (rollout.*, alert.*); * for all"),
    field("channel-severity", "Minimum severity", severity),
    field("channel-other", "Other settings (JSON)", other, "Optional: the type's other fields (timeout, webhook headers, …; docs/notifications.md)"),
    h("div", {class: "actions"}, submit, quit),
  );
  let editing = null; // the channel being edited, as the API listed it
  let controls = {}; // key → [spec, control, needed-note]

  function drawType() {
    controls = {};
    const parts = [];
    for (const spec of TYPES[type.value] || []) {
      const control = controlFor(spec);
      const id = `channel-${spec.key}`;
      const [label, input, hint, error] = field(id, spec.label, control, spec.hint);
      let needed = null;
      if (spec.secret) {
        needed = h("div", {class: "field-needed", id: `${id}-needed`});
        input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby")} ${id}-needed`);
      }
      controls[spec.key] = [spec, control, needed];
      parts.push(label, input, hint, needed, error);
      control.addEventListener("input", checkSecrets);
      control.addEventListener("change", checkSecrets);
    }
    fill(typeFields, parts);
  }

  /** Stored secrets of the channel being edited (the API shows them as the mask). */
  function storedSecrets() {
    if (!editing) return [];
    return Object.values(controls).filter(([spec]) => spec.secret && editing.config[spec.key] === MASK);
  }

  /** Whether a field that says where the channel sends differs from what is stored. */
  function whereChanged() {
    if (!editing) return [];
    return Object.values(controls)
      .filter(([spec, control]) => spec.where && JSON.stringify(valueOf(spec, control) ?? null) !== JSON.stringify(editing.config[spec.key] ?? null))
      .map(([spec]) => spec.label);
  }

  /** Say beside each stored secret whether it must be typed again (the place changed). */
  function checkSecrets() {
    const changed = whereChanged();
    for (const [spec, control, needed] of storedSecrets()) {
      const must = changed.length > 0 && control.value === "";
      needed.textContent = must
        ? `Type the ${spec.label.toLowerCase()} again: ${changed.join(", ")} changed, and a stored secret is never sent to a new place.`
        : "";
      control.required = changed.length > 0;
      control.placeholder = changed.length > 0 ? "required: type it again" : "stored: leave empty to keep it";
    }
  }

  function body() {
    let extra = {};
    const text = other.value.trim();
    if (text) {
      extra = JSON.parse(text); // a SyntaxError is reported by the caller
      if (!extra || typeof extra !== "object" || Array.isArray(extra)) throw new SyntaxError("other settings must be a JSON object");
    }
    const config = {...extra, type: type.value, name: name.value.trim(), kinds: listOf(kinds.value), min_severity: severity.value};
    for (const [spec, control] of Object.values(controls)) {
      if (spec.secret) {
        if (control.value !== "") config[spec.key] = control.value;
        else if (editing && editing.config[spec.key] === MASK) config[spec.key] = MASK; // keep the stored one
        else config[spec.key] = null;
      } else {
        config[spec.key] = valueOf(spec, control);
      }
    }
    return config;
  }

  const FIELDS = {
    config: "channel-other",
    "config.name": "channel-name",
    "config.type": "channel-type",
    "config.kinds": "channel-kinds",
    "config.min_severity": "channel-severity",
    ...Object.fromEntries(Object.values(TYPES).flat().map((spec) => [`config.${spec.key}`, `channel-${spec.key}`])),
  };

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form, summary);
    let config;
    try {
      config = body();
    } catch (error) {
      const slot = form.querySelector("#channel-other-error");
      slot.textContent = `Not a JSON object: ${error.message}`;
      other.setAttribute("aria-invalid", "true");
      other.focus();
      return;
    }
    submit.disabled = true;
    try {
      if (editing) {
        await api(`notification-channels/${encodeURIComponent(editing.name)}`, {method: "PATCH", body: {config, version: editing.version}});
        const saved = editing.name;
        reset();
        done(`Saved ${saved}.`);
      } else {
        await api("notification-channels", {method: "POST", body: {config}});
        reset();
        done(`Added ${config.name}.`);
      }
    } catch (error) {
      showErrors(form, summary, error, FIELDS);
    } finally {
      submit.disabled = false;
    }
  });
  type.addEventListener("change", drawType);
  quit.addEventListener("click", () => {
    reset();
    cancel();
  });

  /** Back to an empty "new channel" form. */
  function reset() {
    editing = null;
    form.reset();
    clearErrors(form, summary);
    name.disabled = false;
    type.disabled = false;
    title.textContent = "New channel";
    submit.textContent = "Add channel";
    quit.hidden = true;
    note.textContent = "";
    drawType();
  }

  /** Fill the form with ``channel`` to change it (name and type stay). */
  function edit(channel) {
    reset();
    editing = channel;
    name.value = channel.name;
    name.disabled = true;
    if (![...type.options].some((option) => option.value === channel.type)) type.append(h("option", {value: channel.type}, channel.type));
    type.value = channel.type; // a type this page has no fields for is edited as JSON
    type.disabled = true;
    drawType();
    kinds.value = (channel.config.kinds || ["*"]).join(", ");
    severity.value = channel.config.min_severity || "info";
    for (const [spec, control] of Object.values(controls)) {
      if (!spec.secret) control.value = shown(spec, channel.config[spec.key]);
    }
    const known = new Set([...COMMON, ...(TYPES[channel.type] || []).map((spec) => spec.key)]);
    const rest = Object.fromEntries(Object.entries(channel.config).filter(([key]) => !known.has(key)));
    other.value = Object.keys(rest).length ? JSON.stringify(rest, null, 2) : "";
    title.textContent = `Edit channel ${channel.name}`;
    submit.textContent = "Save changes";
    quit.hidden = false;
    const secrets = storedSecrets().map(([spec]) => spec.label.toLowerCase());
    note.textContent = secrets.length
      ? `The ${secrets.join(" and ")} ${secrets.length > 1 ? "are" : "is"} stored and not shown: leave ${secrets.length > 1 ? "them" : "it"} empty to keep ${secrets.length > 1 ? "them" : "it"}. ` +
        `Changing where the channel sends (${(TYPES[channel.type] || []).filter((s) => s.where).map((s) => s.label).join(", ") || "its settings"}) needs ${secrets.length > 1 ? "them" : "it"} typed again.`
      : "";
    checkSecrets();
    (Object.values(controls)[0]?.[1] || kinds).focus();
  }

  reset();
  return {
    node: h("section", {class: "card", "aria-labelledby": "channel-form-title", id: "channel-form"}, title, note, summary, form),
    edit,
    reset,
    get editing() {
      return editing;
    },
  };
}
