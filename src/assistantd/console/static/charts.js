// Small SVG pictures, drawn by hand: stacked bars per day and model (usage) and a timeline of a run's
// steps. Each has a <title> and a text table beside it, so the figures are readable without the picture.

import { s } from "./dom.js";

export const PALETTE = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626"];

function niceMax(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function compact(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/**
 * A stacked bar chart: `days` is [{label, values: {series: number}}], `series` the names in stack order.
 * Returns an <svg> with a title, axis labels and one <rect> per non-zero value.
 */
export function stackedBars(title, days, series, { width = 640, height = 220 } = {}) {
  const pad = { left: 48, right: 8, top: 24, bottom: 28 };
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const totals = days.map((d) => series.reduce((sum, name) => sum + (d.values[name] || 0), 0));
  const max = niceMax(Math.max(0, ...totals));
  const band = innerW / Math.max(days.length, 1);
  const svg = s("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    class: "chart",
    "aria-label": title,
  });
  svg.append(s("title", {}, title));
  svg.append(s("text", { x: pad.left, y: 14, class: "chart-title" }, title));
  for (let i = 0; i <= 4; i++) {
    const y = pad.top + innerH - (innerH * i) / 4;
    svg.append(s("line", { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: "grid" }));
    svg.append(s("text", { x: pad.left - 6, y: y + 4, class: "axis", "text-anchor": "end" }, compact((max * i) / 4)));
  }
  days.forEach((day, i) => {
    let y = pad.top + innerH;
    const x = pad.left + i * band + band * 0.15;
    series.forEach((name, k) => {
      const value = day.values[name] || 0;
      if (!value) return;
      const barH = (innerH * value) / max;
      y -= barH;
      const rect = s("rect", {
        x,
        y,
        width: band * 0.7,
        height: Math.max(barH, 1),
        fill: PALETTE[k % PALETTE.length],
        class: "bar",
      });
      rect.append(s("title", {}, `${day.label} · ${name}: ${value.toLocaleString()}`));
      svg.append(rect);
    });
    if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) {
      svg.append(s("text", { x: x + band * 0.35, y: height - 10, class: "axis", "text-anchor": "middle" }, day.label));
    }
  });
  return svg;
}

/**
 * A timeline: `rows` is [{label, start, end, kind, error, detail}] in seconds; drawn as bars on one time
 * axis from the earliest start, a failed row in the error colour, the detail (tokens, duration) as text.
 */
export function timeline(title, rows, { width = 720 } = {}) {
  const rowH = 26;
  const pad = { left: 170, right: 150, top: 26, bottom: 22 };
  const height = pad.top + pad.bottom + rowH * Math.max(rows.length, 1);
  const t0 = Math.min(...rows.map((r) => r.start));
  const t1 = Math.max(...rows.map((r) => r.end ?? r.start), t0 + 1);
  const span = t1 - t0;
  const innerW = width - pad.left - pad.right;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart timeline", "aria-label": title });
  svg.append(s("title", {}, title));
  svg.append(s("text", { x: 4, y: 16, class: "chart-title" }, title));
  for (let i = 0; i <= 4; i++) {
    const x = pad.left + (innerW * i) / 4;
    svg.append(s("line", { x1: x, x2: x, y1: pad.top - 4, y2: height - pad.bottom, class: "grid" }));
    svg.append(s("text", { x, y: height - 6, class: "axis", "text-anchor": "middle" }, `${((span * i) / 4).toFixed(1)} s`));
  }
  rows.forEach((row, i) => {
    const y = pad.top + i * rowH;
    const x = pad.left + (innerW * (row.start - t0)) / span;
    const w = Math.max((innerW * ((row.end ?? t1) - row.start)) / span, 4);
    const cls = row.error ? "span span-error" : `span span-${row.kind || "step"}`;
    svg.append(s("text", { x: 4, y: y + 17, class: "row-label" }, row.label));
    const rect = s("rect", { x, y: y + 4, width: w, height: rowH - 8, rx: 3, class: cls });
    rect.append(s("title", {}, `${row.label}: ${row.detail || ""}${row.error ? ` — ${row.error}` : ""}`));
    svg.append(rect);
    svg.append(s("text", { x: width - pad.right + 6, y: y + 17, class: row.error ? "row-detail error" : "row-detail" }, row.error || row.detail || ""));
  });
  return svg;
}
