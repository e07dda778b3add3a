// The dashboard's shell: sign-in, routing between views, and the auto-refresh loop.

import {ApiError, api, describe, session} from "./api.js";
import {fill, h} from "./dom.js";
import {time} from "./format.js";
import * as alerts from "./views/alerts.js";
import * as flags from "./views/flags.js";
import * as health from "./views/health.js";
import * as metrics from "./views/metrics.js";
import * as rollout from "./views/rollout.js";
import * as rollouts from "./views/rollouts.js";

const REFRESH_MS = 5000;
const ROUTES = [
  [/^\/flags$/, flags],
  [/^\/rollouts$/, rollouts],
  [/^\/rollouts\/(\d+)$/, rollout],
  [/^\/metrics$/, metrics],
  [/^\/health$/, health],
  [/^\/alerts$/, alerts],
];

const $ = (id) => document.getElementById(id);
let current = null;

function showSignIn(message) {
  current = null;
  $("nav").hidden = true;
  $("session").hidden = true;
  fill($("view"));
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
  $("token").focus();
}

function signOut(message) {
  session.clear();
  showSignIn(message);
}

function route() {
  const [path, search] = (location.hash.slice(1) || "/flags").split("?");
  for (const [pattern, module] of ROUTES) {
    const found = pattern.exec(path);
    if (found) return {module, path, params: found.slice(1), query: new URLSearchParams(search || "")};
  }
  return null;
}

/** Which <details> are open, so that a refresh does not close what someone is reading. */
function detailsKey(details) {
  const owner = details.parentElement && details.parentElement.closest("[data-seq],[data-gate],[id]");
  const summary = details.querySelector("summary");
  return `${owner ? owner.dataset.seq || owner.dataset.gate || owner.id : ""}/${summary ? summary.textContent : ""}`;
}

async function once(view) {
  try {
    const open = new Set([...view.root.querySelectorAll("details[open]")].map(detailsKey));
    await view.instance.refresh();
    for (const details of view.root.querySelectorAll("details")) {
      if (open.has(detailsKey(details))) details.open = true;
    }
    if (view !== current) return;
    view.banner.replaceChildren();
    $("updated").textContent = `updated ${time(new Date().toISOString())}`;
  } catch (error) {
    if (view !== current) return;
    if (error instanceof ApiError && error.status === 401) {
      signOut(`Signed out: ${describe(error)}`);
      return;
    }
    fill(view.banner, h("p", {class: "error"}, describe(error)));
  }
}

/** Reload the current view; a call during a reload runs one more after it. */
function refresh() {
  const view = current;
  if (!view) return Promise.resolve();
  if (view.running) {
    view.again = true;
    return view.running;
  }
  view.running = (async () => {
    do {
      view.again = false;
      await once(view);
    } while (view.again && view === current);
    view.running = null;
  })();
  return view.running;
}

async function show() {
  if (!session.token) {
    showSignIn();
    return;
  }
  const found = route();
  if (!found) {
    location.replace("#/flags");
    return;
  }
  $("signin").hidden = true;
  $("nav").hidden = false;
  $("session").hidden = false;
  for (const link of $("nav").querySelectorAll("a")) {
    const here = found.path.startsWith(link.getAttribute("href").slice(1));
    if (here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  const banner = h("div", {class: "banner", role: "alert"});
  const root = h("div", {class: "content"});
  fill($("view"), banner, root);
  const instance = found.module.mount({root, params: found.params, query: found.query, refresh: () => refresh()});
  current = {instance, banner, root, running: null, again: false};
  await refresh();
  // move focus to the new view's heading, so that screen readers announce it
  const heading = root.querySelector("h1");
  if (heading && current && current.root === root) heading.focus({preventScroll: true});
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  $("signin-error").textContent = "Checking the token…";
  try {
    await api("environments", {token});
  } catch (error) {
    const why =
      error.status === 401
        ? "The control plane refused this token"
        : error.status === 403
          ? "This token cannot read the dashboard (an API token with read, write or admin scope is needed)"
          : "Could not sign in";
    $("signin-error").textContent = `${why}: ${describe(error)}`;
    return;
  }
  session.set(token);
  $("token").value = "";
  if (!location.hash) history.replaceState(null, "", "#/flags");
  await show();
}

$("signin-form").addEventListener("submit", signIn);
$("signout").addEventListener("click", () => signOut("Signed out."));
window.addEventListener("hashchange", show);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && $("auto").checked) refresh();
});
setInterval(() => {
  if (document.visibilityState === "visible" && $("auto").checked) refresh();
}, REFRESH_MS);
show();
