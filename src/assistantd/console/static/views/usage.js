// Usage: the key's own project's tokens and requests per day and model, as stacked SVG bars and a table.

import { get } from "../api.js";
import { field, h, notice } from "../dom.js";
import { stackedBars } from "../charts.js";

export async function render(root) {
  const days = h("select", { id: "usage-days" }, [7, 14, 31].map((d) => h("option", { value: String(d) }, `${d} days`)));
  days.value = "14";
  const out = h("div", { class: "stack", id: "usage-charts" });
  const draw = async () => {
    const page = await get(`/console/api/usage?days=${days.value}`);
    const models = [...new Set(page.data.flatMap((b) => b.results.map((r) => r.model)))].sort();
    const label = (b) => new Date(b.start_time * 1000).toISOString().slice(5, 10);
    const per = (pick) => page.data.map((b) => ({ label: label(b), values: Object.fromEntries(b.results.map((r) => [r.model, pick(r)])) }));
    out.replaceChildren();
    if (!models.length) out.append(notice("No model requests in this period yet."));
    out.append(
      h("div", { class: "legend", "aria-label": "Models" }, models.map((m, i) => h("span", {}, h("span", { class: `swatch swatch-${i % 8}` }), m))),
      stackedBars("Tokens per day (input + output)", per((r) => r.input_tokens + r.output_tokens), models),
      stackedBars("Model requests per day", per((r) => r.num_model_requests), models),
    );
    const rows = page.data.flatMap((b) => b.results.map((r) => h("tr", {}, h("td", {}, label(b)), h("td", {}, r.model),
      h("td", {}, r.input_tokens.toLocaleString()), h("td", {}, r.output_tokens.toLocaleString()), h("td", {}, r.num_model_requests.toLocaleString()))));
    if (rows.length) {
      out.append(h("table", { id: "usage-table" }, h("caption", { class: "muted" }, "The same figures"),
        h("thead", {}, h("tr", {}, ["Day (UTC)", "Model", "Input tokens", "Output tokens", "Requests"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, rows)));
    }
  };
  days.addEventListener("change", draw);
  root.append(h("h1", { id: "view-title" }, "Usage"), h("p", { class: "muted" }, "This project's model requests, per UTC day."), field("Period", days), out);
  await draw();
}
