// Threads and conversations: a search over the project's threads (console route), each thread's items
// paged newest first (never all at once: a thread may hold 10,000 messages), and per run or response a
// timeline of its steps with durations, tokens and errors as an SVG picture.

import { get, query } from "../api.js";
import { field, fill, h, notice, pretty, when } from "../dom.js";
import { timeline } from "../charts.js";

const PAGE = 50;

export async function render(root, params) {
  const search = h("input", { type: "search", id: "thread-search", placeholder: "ID, metadata or text" });
  const list = h("ul", { class: "list", id: "thread-list", "aria-label": "Threads" });
  const more = h("button", { type: "button", id: "threads-more", hidden: true }, "More threads");
  const detail = h("div", { class: "stack", id: "thread-detail" }, h("p", { class: "muted" }, "Pick a thread."));
  let after = null;
  let q = "";
  let selected = params[0] || null;

  const load = async (reset) => {
    if (reset) {
      after = null;
      fill(list);
    }
    const page = await get(`/console/api/threads${query({ q, after, limit: 20 })}`);
    for (const t of page.data) {
      const button = h("button", { type: "button", class: "item", dataset: { id: t.id }, onclick: () => open(t.id) },
        h("span", { class: "item-title" }, t.id),
        h("span", { class: "item-sub" }, [when(t.created_at), ...Object.entries(t.metadata).map(([k, v]) => `${k}=${v}`)].join(" · ")));
      list.append(h("li", {}, button));
    }
    if (!list.children.length) list.append(h("li", { class: "muted" }, q ? "No thread matches." : "No threads yet."));
    after = page.last_id;
    more.hidden = !page.has_more;
  };
  const open = (id) => {
    selected = id;
    for (const b of list.querySelectorAll("button.item")) b.classList.toggle("selected", b.dataset.id === id);
    history.replaceState(null, "", `#/threads/${encodeURIComponent(id)}`);
    showThread(detail, id).catch((error) => fill(detail, notice(error.message, "error")));
  };
  const form = h("form", { class: "row", role: "search" }, field("Search", search), h("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    q = search.value;
    await load(true);
  });
  more.addEventListener("click", () => load(false));
  root.append(
    h("h1", { id: "view-title" }, "Threads and conversations"),
    h("div", { class: "split" }, h("div", { class: "card stack" }, form, list, more), detail),
  );
  await load(true);
  if (selected) open(selected);
}

async function showThread(root, id) {
  const thread = await get(`/v1/conversations/${encodeURIComponent(id)}`);
  const runs = h("div", { class: "card stack", id: "thread-runs" }, h("h2", {}, "Runs and responses"), h("p", { class: "muted" }, "Loading…"));
  const items = h("ol", { class: "list", id: "thread-items", "aria-label": "Messages, newest first" });
  const older = h("button", { type: "button", id: "items-older", hidden: true }, "Older messages");
  const count = h("span", { class: "muted", id: "items-count" });
  fill(
    root,
    h("div", { class: "card" }, h("h2", {}, id), h("p", { class: "item-sub" }, `created ${when(thread.created_at)}`),
      Object.keys(thread.metadata || {}).length ? h("pre", {}, pretty(thread.metadata)) : null),
    runs,
    h("div", { class: "card stack" }, h("h2", {}, "Messages ", count), items, older),
  );
  let after = null;
  let shown = 0;
  const page = async () => {
    const data = await get(`/v1/conversations/${encodeURIComponent(id)}/items${query({ limit: PAGE, order: "desc", after })}`);
    for (const item of data.data) items.append(renderItem(item));
    shown += data.data.length;
    count.textContent = `(${shown} shown${data.has_more ? ", more older" : ""})`;
    after = data.last_id;
    older.hidden = !data.has_more;
  };
  older.addEventListener("click", () => page());
  await Promise.all([page(), drawRuns(runs, id)]);
}

function partsText(content) {
  if (typeof content === "string") return content;
  return (content || [])
    .map((p) => p.text ?? p.refusal ?? (p.type === "input_image" ? `[image ${p.file_id || p.image_url || ""}]` : p.type === "input_file" ? `[file ${p.file_id || p.filename || ""}]` : `[${p.type}]`))
    .join("\n");
}

function renderItem(item) {
  if (item.type === "message") {
    return h("li", { class: `bubble ${item.role === "user" ? "user" : "assistant"} thread-item`, dataset: { id: item.id } },
      h("span", { class: "role" }, item.role), partsText(item.content));
  }
  const label = item.type === "function_call" ? `function ${item.name}(${item.arguments})` : item.type;
  const rest = { ...item };
  delete rest.id;
  delete rest.type;
  return h("li", { class: "tool thread-item", dataset: { id: item.id } }, h("strong", {}, label), h("pre", {}, pretty(rest)));
}

const end = (r) => r.completed_at || r.failed_at || r.cancelled_at || r.expired_at || null;

function tokens(usage) {
  if (!usage) return "";
  const total = usage.total_tokens ?? (usage.input_tokens || usage.prompt_tokens || 0) + (usage.output_tokens || usage.completion_tokens || 0);
  return `${total} tok`;
}

function duration(start, stop) {
  if (!stop) return "running";
  const seconds = stop - start; // the API's times are whole seconds
  return seconds < 1 ? "<1 s" : `${seconds} s`;
}

async function drawRuns(root, threadId) {
  const runs = (await get(`/console/api/threads/${encodeURIComponent(threadId)}/runs?limit=10`)).data;
  fill(root, h("h2", {}, `Runs and responses (${runs.length}${runs.length === 10 ? ", newest 10" : ""})`));
  if (!runs.length) {
    root.append(h("p", { class: "muted" }, "No run or response on this thread."));
    return;
  }
  for (const run of runs) {
    const rows = [{ label: `${run.kind} ${run.status}`, start: run.created_at, end: end(run), kind: run.kind, error: run.last_error?.message, detail: `${duration(run.created_at, end(run))} · ${tokens(run.usage)}` }];
    if (run.kind === "run") {
      const steps = (await get(`/v1/threads/${encodeURIComponent(threadId)}/runs/${run.id}/steps?order=asc&limit=100`)).data;
      for (const step of steps) {
        const names = step.step_details.type === "tool_calls" ? step.step_details.tool_calls.map((c) => c.function?.name || c.type).join(", ") : "message";
        rows.push({ label: `${step.type === "tool_calls" ? "tools" : "message"}: ${names}`.slice(0, 26), start: step.created_at, end: end(step), kind: step.type, error: step.last_error?.message, detail: `${duration(step.created_at, end(step))} · ${tokens(step.usage)}` });
      }
    } else {
      const response = await get(`/v1/responses/${run.id}`).catch(() => null);
      for (const item of response?.output || []) {
        // A response's items carry no times of their own: each is drawn over the response's span.
        rows.push({ label: `${item.type}${item.name ? ` ${item.name}` : ""}`.slice(0, 26), start: run.created_at, end: end(run), kind: "item", detail: item.status || "" });
      }
    }
    const picture = timeline(`${run.id} · ${run.model}`, rows);
    picture.dataset.run = run.id;
    root.append(h("figure", { class: "run-timeline" }, picture,
      h("figcaption", { class: "item-sub" }, `${run.kind} ${run.id} · ${run.status} · started ${when(run.started_at || run.created_at)} · ${duration(run.created_at, end(run))} · ${tokens(run.usage)}${run.last_error ? ` · error: ${run.last_error.message}` : ""}`)));
  }
}
