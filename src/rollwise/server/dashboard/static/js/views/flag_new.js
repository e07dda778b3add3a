// A new flag: key, description, variants, off variant, tags (POST /flags).

import {api, can} from "../api.js";
import {fill, h} from "../dom.js";
import {field, listOf, refused, showErrors} from "../forms.js";

export function mount({root}) {
  if (!can("write")) return refused(root, "New flag", "write");
  const summary = h("div", {class: "notice", role: "alert"});
  const key = h("input", {type: "text", name: "key", required: true, maxlength: "128", autocomplete: "off", spellcheck: "false"});
  const description = h("input", {type: "text", name: "description", maxlength: "10000"});
  const variants = h("input", {type: "text", name: "variants", value: "off, on", required: true});
  const off = h("input", {type: "text", name: "off_variant"});
  const tags = h("input", {type: "text", name: "tags"});
  const form = h(
    "form",
    {class: "form", novalidate: true},
    field("flag-key", "Key", key, "Letters, digits, _ . - (the name your code asks for)"),
    field("flag-description", "Description", description),
    field("flag-variants", "Variants", variants, "Comma-separated, e.g. legacy, domain"),
    field("flag-off", "Off variant", off, "What everyone gets when the flag is killed (default: the first variant)"),
    field("flag-tags", "Tags", tags, "Comma-separated"),
    h("div", {class: "actions"}, h("button", {type: "submit"}, "Create flag"), h("a", {class: "button secondary", href: "#/flags"}, "Cancel")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {key: key.value.trim(), description: description.value, variants: listOf(variants.value), tags: listOf(tags.value)};
    if (off.value.trim()) body.off_variant = off.value.trim();
    try {
      const created = await api("flags", {method: "POST", body});
      location.hash = `#/flags/${encodeURIComponent(created.key)}`;
    } catch (error) {
      showErrors(form, summary, error, {key: "flag-key", description: "flag-description", variants: "flag-variants", off_variant: "flag-off", tags: "flag-tags"});
    }
  });
  fill(root, h("p", {class: "crumbs"}, h("a", {href: "#/flags"}, "Flags"), " / new"), h("h1", {tabindex: "-1"}, "New flag"), summary, form);
  return {async refresh() {}};
}
