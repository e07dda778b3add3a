// Form pieces: a labelled field with a hint and a slot for its error, and the API's
// validation errors put next to the field they name.

import {describe} from "./api.js";
import {fill, h} from "./dom.js";

/** A label, the control, an optional hint, and a slot for the field's error (the control is
 * described by both, so a screen reader reads the error with the field). */
export function field(id, label, control, hint) {
  control.id = id;
  const error = h("div", {class: "field-error", id: `${id}-error`, "data-field": id});
  const hintNode = hint ? h("div", {class: "hint", id: `${id}-hint`}, hint) : null;
  control.setAttribute("aria-describedby", [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" "));
  return [h("label", {for: id}, label), control, hintNode, error];
}

/** The problems of a 422 (``details.errors`` of pydantic, ``details.issues`` of a config
 * error) as [{path, message}], the path without its "body." prefix. */
export function problemsOf(error) {
  const details = (error && error.details) || {};
  const out = [];
  for (const item of details.errors || []) out.push({path: String(item.path || "").replace(/^body\.?/, ""), message: item.message});
  for (const item of details.issues || []) out.push({path: String(item.path || ""), message: item.reason});
  return out;
}

/** Show ``error`` in ``summary`` and each problem beside its field: ``fields`` maps a path
 * prefix ("strategy.steps", "gates") to a field id. Returns the problems placed. */
export function showErrors(form, summary, error, fields) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  const problems = problemsOf(error);
  const placed = [];
  for (const problem of problems) {
    const match = Object.keys(fields)
      .filter((prefix) => problem.path === prefix || problem.path.startsWith(`${prefix}.`))
      .sort((a, b) => b.length - a.length)[0];
    const id = match ? fields[match] : null;
    const slot = id ? form.querySelector(`#${id}-error`) : null;
    if (!slot) continue;
    slot.textContent = (slot.textContent ? `${slot.textContent}; ` : "") + `${problem.path}: ${problem.message}`;
    const control = form.querySelector(`#${id}`);
    if (control) control.setAttribute("aria-invalid", "true");
    placed.push(problem);
  }
  fill(summary, h("p", {class: "error"}, describe(error)), problems.length > placed.length ? h("ul", {class: "error"}, problems.filter((p) => !placed.includes(p)).map((p) => h("li", {}, `${p.path || "spec"}: ${p.message}`))) : null);
  const first = form.querySelector("[aria-invalid=true]");
  if (first) first.focus();
  return placed;
}

export function clearErrors(form, summary) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  summary.replaceChildren();
}

/** "a, b , c" → ["a", "b", "c"]. */
export function listOf(text) {
  return String(text || "")
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

/** A view that needs a scope the token lacks says so instead of drawing a form. */
export function refused(root, what, scope) {
  fill(root, h("h1", {tabindex: "-1"}, what), h("p", {class: "error", role: "alert"}, `This needs a ${scope} token; you are signed in with a token that cannot ${scope === "admin" ? "administer" : "write"}.`));
  return {async refresh() {}};
}
