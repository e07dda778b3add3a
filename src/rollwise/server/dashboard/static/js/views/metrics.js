// A flag's per-variant metrics over time: request rate, error rate and p95 latency.

import {api, query} from "../api.js";
import {lineChart} from "../chart.js";
import {fill, h} from "../dom.js";
import {number, percent, rate, seconds} from "../format.js";

const RANGES = [["15m", 900], ["1h", 3600], ["6h", 21600], ["24h", 86400], ["7d", 604800], ["14d", 1209600]];
const CHARTS = [
  ["Request rate", (p) => p.request_rate, rate, 0],
  ["Error rate", (p) => p.error_rate, (v) => percent(v), 0.001],
  ["p95 latency", (p) => p.p95, seconds, 0],
];

function select(id, label, options, value) {
  const element = h("select", {id, name: id}, options.map(([text, key]) => h("option", {value: key, selected: key === value}, text)));
  return [h("label", {for: id}, label), element];
}

export function mount({root, query: params}) {
  const controls = h("form", {class: "controls", "aria-label": "what to show"});
  const charts = h("div", {class: "charts"});
  const totals = h("div", {class: "table-wrap"});
  fill(root, h("h1", {tabindex: "-1"}, "Metrics"), controls, charts, totals);
  let chosen = null;

  function go() {
    const data = new FormData(controls);
    location.hash = `#/metrics${query({flag: data.get("flag"), environment: data.get("environment"), range: data.get("range")})}`;
  }

  async function choose() {
    const [flags, environments] = await Promise.all([api("flags"), api("environments")]);
    if (flags.length === 0 || environments.length === 0) return null;
    const envKeys = environments.map((e) => e.key);
    const flag = params.get("flag") || flags[0].key;
    const environment = params.get("environment") || (envKeys.includes("production") ? "production" : envKeys[0]);
    const range = RANGES.some(([name]) => name === params.get("range")) ? params.get("range") : "1h";
    fill(
      controls,
      select("flag", "Flag", flags.map((f) => [f.key, f.key]), flag),
      select("environment", "Environment", environments.map((e) => [e.name || e.key, e.key]), environment),
      select("range", "Range", RANGES.map(([name]) => [`last ${name}`, name]), range),
    );
    controls.addEventListener("change", go);
    return {flag, environment, seconds: RANGES.find(([name]) => name === range)[1]};
  }

  return {
    async refresh() {
      chosen = chosen || (await choose());
      if (!chosen) {
        fill(charts, h("p", {class: "muted"}, "No flags or environments yet."));
        return;
      }
      const from = new Date(Date.now() - chosen.seconds * 1000).toISOString();
      const result = await api(`metrics${query({flag: chosen.flag, environment: chosen.environment, from})}`);
      const start = new Date(result.from).getTime();
      const end = new Date(result.to).getTime();
      fill(
        charts,
        CHARTS.map(([title, pick, format, floor]) =>
          lineChart({
            floor,
            title: `${title} (step ${result.step_seconds}s)`,
            from: start,
            to: end,
            format,
            series: result.variants.map((v, index) => ({
              name: v.variant,
              index,
              // a step without requests has no rate to show: a gap, not a zero
              points: v.points.map((p) => [new Date(p.start).getTime(), p.requests || title === "Request rate" ? pick(p) : null]),
            })),
          }),
        ),
      );
      const head = ["Variant", "Requests", "Req/s", "Errors", "Error rate", "p50", "p95", "p99", "Usage share", "Compared", "Mismatches", "Fallbacks"];
      fill(
        totals,
        h(
          "table",
          {class: "totals"},
          h("caption", {}, `Totals for ${result.flag} in ${result.environment}, ${new Date(result.from).toLocaleString("en-GB")} – ${new Date(result.to).toLocaleString("en-GB")}`),
          h("thead", {}, h("tr", {}, head.map((t) => h("th", {scope: "col"}, t)))),
          h(
            "tbody",
            {},
            result.variants.map(({variant, totals: t}, index) =>
              h(
                "tr",
                {"data-variant": variant},
                h("th", {scope: "row"}, h("span", {class: `swatch c${index % 6}`, "aria-hidden": "true"}), variant),
                [number(t.requests), rate(t.request_rate), number(t.errors), percent(t.error_rate), seconds(t.p50), seconds(t.p95), seconds(t.p99),
                  percent(t.usage_share), number(t.compared), number(t.mismatches), number(t.fallbacks)].map((text) => h("td", {class: "num"}, text)),
              ),
            ),
          ),
        ),
      );
    },
  };
}
