// Numbers and times as people read them. A missing value is "–", never 0.

const DASH = "–";

/** A fraction as a percent with ``digits`` significant digits: 0.006667 → "0.667%". */
export function percent(fraction, digits = 3) {
  if (fraction === null || fraction === undefined) return DASH;
  return `${Number((fraction * 100).toPrecision(digits))}%`;
}

/** Basis points (10000 = 100%) as a percent. */
export function bp(points) {
  if (points === null || points === undefined) return DASH;
  return `${Number((points / 100).toFixed(2))}%`;
}

export function seconds(value) {
  if (value === null || value === undefined) return DASH;
  if (value < 1) return `${Number((value * 1000).toPrecision(3))} ms`;
  return `${Number(value.toPrecision(3))} s`;
}

export function rate(perSecond) {
  if (perSecond === null || perSecond === undefined) return DASH;
  return `${Number(perSecond.toPrecision(3))}/s`;
}

export function number(value) {
  if (value === null || value === undefined) return DASH;
  if (typeof value !== "number") return String(value);
  return Number.isInteger(value) ? value.toLocaleString("en") : String(Number(value.toPrecision(4)));
}

/** A duration in seconds as "1h 30m", "45s". */
export function duration(total) {
  if (total === null || total === undefined) return DASH;
  let rest = Math.round(Math.abs(total));
  const parts = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (rest >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.slice(0, 2).join(" ");
}

export function time(iso) {
  if (!iso) return DASH;
  const moment = new Date(iso);
  const today = new Date().toDateString() === moment.toDateString();
  return today
    ? moment.toLocaleTimeString("en-GB")
    : `${moment.toLocaleDateString("en-CA")} ${moment.toLocaleTimeString("en-GB")}`;
}

/** "in 35m" / "3m ago" relative to now. */
export function relative(iso) {
  if (!iso) return DASH;
  const delta = (new Date(iso).getTime() - Date.now()) / 1000;
  return delta >= 0 ? `in ${duration(delta)}` : `${duration(-delta)} ago`;
}
