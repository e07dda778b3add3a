// An address the dashboard has no view for: say so, never show another view instead.

import {fill, h} from "../dom.js";

export function mount({root, params}) {
  fill(
    root,
    h("h1", {tabindex: "-1"}, "Not found"),
    h("p", {class: "error", role: "alert"}, `The dashboard has no page at #${params[0]}.`),
    h("p", {}, "Pages: ", ["flags", "rollouts", "releases", "experiments", "metrics", "health", "alerts", "channels", "audit"].map((name, index) => [index ? " · " : "", h("a", {href: `#/${name}`}, name)])),
  );
  return {async refresh() {}};
}
