// Deliveries per hour by outcome: `GET /v1/deliveries/stats` drawn by the page as an inline
// SVG of stacked bars (no library, nothing inline but the SVG's own elements; colours come
// from the style sheet), with the same numbers as a table for screen readers.

import { call } from "../api.js";
import { errorBox, h, heading, svg, table, put } from "../ui.js";
import { filterForm } from "./deliveries.js";

/** Outcomes from the bottom of a bar up. */
const OUTCOMES = ["succeeded", "failed", "retrying", "pending"];
const WIDTH = 760;
const HEIGHT = 260;
const MARGIN = { left: 48, right: 12, top: 12, bottom: 40 };

function hourLabel(iso) {
  const date = new Date(iso);
  const hh = String(date.getHours()).padStart(2, "0");
  return date.getHours() === 0 ? `${date.toLocaleDateString()} ${hh}:00` : `${hh}:00`;
}

/** A round number at or above `n`, for the top of the scale. */
function ceiling(n) {
  if (n <= 4) return 4;
  const step = 10 ** Math.floor(Math.log10(n));
  return Math.ceil(n / step) * step;
}

/** The stacked bar chart of `buckets`. */
export function barChart(buckets, titleText) {
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const total = (b) => OUTCOMES.reduce((sum, o) => sum + (b[o] ?? 0), 0);
  const top = ceiling(Math.max(0, ...buckets.map(total)));
  const y = (n) => MARGIN.top + plotH - (n / top) * plotH;
  const slot = plotW / Math.max(1, buckets.length);
  const every = Math.max(1, Math.ceil(buckets.length / 8));
  const grid = [0, top / 2, top].map((n) =>
    svg("g", { class: "tick" },
      svg("line", { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(n), y2: y(n) }),
      svg("text", { x: MARGIN.left - 6, y: y(n) + 4, "text-anchor": "end" }, String(n))),
  );
  const bars = buckets.map((b, i) => {
    const x = MARGIN.left + i * slot + slot * 0.1;
    let base = 0;
    const parts = OUTCOMES.filter((o) => (b[o] ?? 0) > 0).map((o) => {
      const rect = svg("rect", { class: `bar-${o}`, x, width: Math.max(1, slot * 0.8), y: y(base + b[o]), height: y(base) - y(base + b[o]) });
      base += b[o];
      return rect;
    });
    const summary = `${hourLabel(b.hour)}: ` + OUTCOMES.map((o) => `${b[o] ?? 0} ${o}`).join(", ");
    return svg("g", { class: "bar" }, svg("title", {}, summary), parts,
      i % every === 0 && svg("text", { class: "hour", x: x + slot * 0.4, y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" }, hourLabel(b.hour)));
  });
  return svg(
    "svg",
    { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-labelledby": "chart-title chart-desc" },
    svg("title", { id: "chart-title" }, titleText),
    svg("desc", { id: "chart-desc" }, `Stacked bars, one per hour, of ${OUTCOMES.join(", ")} deliveries; the table below has the numbers.`),
    grid,
    bars,
  );
}

function legend() {
  return h("ul", { class: "legend", "aria-label": "Legend" }, OUTCOMES.map((o) => h("li", {}, h("span", { class: `swatch bar-${o}`, "aria-hidden": "true" }), o)));
}

function numbers(buckets) {
  const rows = buckets.map((b) => [hourLabel(b.hour), ...OUTCOMES.map((o) => String(b[o] ?? 0))]);
  return h("details", {}, h("summary", {}, "The numbers"), table("Deliveries per hour", ["Hour", ...OUTCOMES], rows));
}

/** `#/chart` */
export async function render(view, { query, navigate }) {
  const form = await filterForm(query, navigate, {
    base: "#/chart",
    prefix: "chart",
    hints: { since: "Empty: 24 hours ago (at most 7 days).", until: "Empty: now." },
    submitLabel: "Show",
  });
  put(view, heading("Deliveries per hour"), form);
  const params = Object.fromEntries(["subscription_id", "event_type", "since", "until"].map((k) => [k, query.get(k)]));
  try {
    const stats = await call("GET", "v1/deliveries/stats", { query: params });
    put(
      view,
      legend(),
      barChart(stats.buckets, "Deliveries per hour by outcome"),
      stats.truncated ? h("p", { class: "notice" }, "Only the first 10,000 deliveries of the window are counted: narrow it for exact numbers.") : "",
      numbers(stats.buckets),
    );
  } catch (err) {
    put(view, errorBox(err));
  }
}
