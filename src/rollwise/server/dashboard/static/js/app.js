// The dashboard's shell: sign-in, routing between views, and the auto-refresh loop.

import {ApiError, api, can, describe, session} from "./api.js";
import {fill, h} from "./dom.js";
import {time} from "./format.js";
import * as alerts from "./views/alerts.js";
import * as audit from "./views/audit.js";
import * as channels from "./views/channels.js";
import * as experiment from "./views/experiment.js";
import * as experiments from "./views/experiments.js";
import * as flag from "./views/flag.js";
import * as flagNew from "./views/flag_new.js";
import * as flags from "./views/flags.js";
import * as health from "./views/health.js";
import * as metrics from "./views/metrics.js";
import * as notFound from "./views/not_found.js";
import * as releases from "./views/releases.js";
import * as rollout from "./views/rollout.js";
import * as rolloutNew from "./views/rollout_new.js";
import * as rollouts from "./views/rollouts.js";
import * as tokens from "./views/tokens.js";

const REFRESH_MS = 5000;
const ROUTES = [
  [/^\/flags$/, flags],
  [/^\/flags\/new$/, flagNew],
  [/^\/flags\/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})$/, flag],
  [/^\/rollouts$/, rollouts],
  [/^\/rollouts\/new$/, rolloutNew],
  [/^\/rollouts\/(\d+)$/, rollout],
  [/^\/releases$/, releases],
  [/^\/experiments$/, experiments],
  [/^\/experiments\/([A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/, experiment],
  [/^\/metrics$/, metrics],
  [/^\/health$/, health],
  [/^\/alerts$/, alerts],
  [/^\/audit$/, audit],
  [/^\/tokens$/, tokens],
  [/^\/channels$/, channels],
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
  const query = new URLSearchParams(search || "");
  for (const [pattern, module] of ROUTES) {
    const found = pattern.exec(path);
    if (found) return {module, path, params: found.slice(1).map(decodeURIComponent), query};
  }
  return {module: notFound, path, params: [path], query};
}

/** "#main" and other in-page anchors are not routes: they leave the view as it is. */
function isRoute() {
  return !location.hash || location.hash.startsWith("#/");
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
    view.loaded = true;
    // a table wider than the screen scrolls in its box: reachable by keyboard too
    for (const wrap of view.root.querySelectorAll(".table-wrap")) {
      if (wrap.scrollWidth > wrap.clientWidth) wrap.setAttribute("tabindex", "0");
      else wrap.removeAttribute("tabindex");
    }
    view.banner.replaceChildren();
    $("updated").textContent = `updated ${time(new Date().toISOString())}`;
  } catch (error) {
    if (view !== current) return;
    if (error instanceof ApiError && error.status === 401) {
      signOut(`Signed out: ${describe(error)}`);
      return;
    }
    if (!view.loaded && error instanceof ApiError && error.status === 404) {
      // nothing to show but the error: no empty cards, no buttons acting on nothing
      fill(view.root, h("h1", {tabindex: "-1"}, "Not found"), h("p", {class: "error", role: "alert"}, describe(error)),
        h("p", {}, h("a", {href: "#/flags"}, "Back to the flags")));
      view.banner.replaceChildren();
      view.instance = {refresh: async () => {}};
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
  // aria-busy tells assistive technology (and the browser tests) when the view has settled;
  // "network idle" never comes on a page that follows the live event stream
  $("view").setAttribute("aria-busy", "true");
  view.running = (async () => {
    do {
      view.again = false;
      await once(view);
    } while (view.again && view === current);
    view.running = null;
    if (view === current) $("view").setAttribute("aria-busy", "false");
  })();
  return view.running;
}

/** Ask the API who the token is (its scope decides which controls are drawn). */
async function whoami(token) {
  const who = await api("whoami", {token});
  session.remember(who);
  return who;
}

async function show() {
  if (!session.token) {
    showSignIn();
    return;
  }
  if (!isRoute()) return;
  if (!session.who) {
    try {
      await whoami(session.token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        signOut(`Signed out: ${describe(error)}`);
        return;
      }
      session.remember({scope: "read", can: ["read"]}); // unknown: draw no write controls
    }
  }
  const found = route();
  document.body.dataset.scope = session.who ? session.who.scope : "";
  $("role").textContent = session.who && session.who.name ? `${session.who.name} (${session.who.scope})` : "";
  for (const link of $("nav").querySelectorAll("[data-needs]")) link.hidden = !can(link.dataset.needs);
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
  $("view").dataset.route = location.hash; // which address the view shows (with aria-busy: settled)
  const instance = found.module.mount({root, params: found.params, query: found.query, refresh: () => refresh()});
  current = {instance, banner, root, running: null, again: false, loaded: false};
  const focused = document.activeElement;
  await refresh();
  // move focus to the new view's heading, so that screen readers announce it — unless the
  // user moved focus while the view loaded (the skip link, a click): theirs wins
  const heading = root.querySelector("h1");
  const untouched = document.activeElement === focused;
  if (heading && untouched && current && current.root === root) heading.focus({preventScroll: true});
}

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  $("signin-error").textContent = "Checking the token…";
  try {
    await api("environments", {token});
    await whoami(token);
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
// the skip link moves focus to the content; it is not a route
document.querySelector(".skip").addEventListener("click", (event) => {
  event.preventDefault();
  $("main").focus();
});
$("signout").addEventListener("click", () => signOut("Signed out."));
window.addEventListener("hashchange", show);
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && $("auto").checked) refresh();
});
setInterval(() => {
  // views that follow the server's event stream refresh when it announces a change
  const streaming = current && current.instance && current.instance.streaming;
  if (document.visibilityState === "visible" && $("auto").checked && !streaming) refresh();
}, REFRESH_MS);
show();
