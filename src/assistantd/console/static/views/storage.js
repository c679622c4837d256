// Storage: files (upload with progress, download, delete) and vector stores (each file's ingestion status,
// a search box showing results with their scores and chunk text).

import { all, del, download, get, post, upload } from "../api.js";
import { confirmButton, field, fill, h, notice, when } from "../dom.js";

function size(bytes) {
  if (bytes >= 1 << 20) return `${(bytes / (1 << 20)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${bytes} B`;
}

export async function render(root) {
  const files = h("div", { class: "card stack", id: "files" });
  const stores = h("div", { class: "card stack", id: "vector-stores" });
  root.append(h("h1", { id: "view-title" }, "Storage"), files, stores);
  await Promise.all([renderFiles(files, () => renderStores(stores)), renderStores(stores)]);
}

async function renderFiles(root, changed, progress = h("div", { class: "stack", id: "upload-progress", "aria-live": "polite" })) {
  const list = await all("/v1/files", 10000);
  const picker = h("input", { type: "file", id: "file-input", multiple: true });
  const purpose = h("select", { id: "file-purpose" }, ["assistants", "user_data", "vision", "batch", "fine-tune"].map((p) => h("option", { value: p }, p)));
  const start = h("button", { type: "button", class: "primary", id: "upload" }, "Upload");
  start.addEventListener("click", async () => {
    const chosen = [...picker.files];
    if (!chosen.length) {
      fill(progress, notice("Choose a file first.", "error"));
      return;
    }
    start.disabled = true;
    fill(progress);
    for (const file of chosen) {
      const bar = h("progress", { max: String(file.size || 1), value: "0", "aria-label": `Uploading ${file.name}` });
      const label = h("span", { class: "upload-label" }, `${file.name}: 0%`);
      progress.append(h("div", { class: "row upload-row" }, bar, label));
      try {
        let events = 0;
        const made = await upload(file, purpose.value, (loaded, total) => {
          label.dataset.events = String(++events);
          bar.max = total || 1;
          bar.value = loaded;
          label.textContent = `${file.name}: ${Math.floor((100 * loaded) / (total || 1))}% (${size(loaded)} of ${size(total)})`;
        });
        label.textContent = `${file.name}: uploaded as ${made.id}`;
        label.dataset.fileId = made.id;
      } catch (error) {
        label.textContent = `${file.name}: ${error.message}`;
        label.classList.add("error");
      }
    }
    start.disabled = false;
    await renderFiles(root, changed, progress);
    changed();
  });
  const rows = list.map((f) =>
    h("tr", { dataset: { id: f.id } },
      h("td", { class: "file-name" }, f.filename), h("td", {}, f.id), h("td", {}, f.purpose), h("td", {}, size(f.bytes)), h("td", {}, when(f.created_at)),
      h("td", { class: "row" },
        h("button", { type: "button", class: "download", onclick: () => download(`/v1/files/${f.id}/content`, f.filename) }, "Download"),
        confirmButton("Delete", async () => {
          await del(`/v1/files/${f.id}`);
          await renderFiles(root, changed, progress);
          changed();
        }))));
  fill(root,
    h("h2", {}, `Files (${list.length})`),
    h("div", { class: "row" }, field("Files", picker), field("Purpose", purpose), start),
    progress,
    list.length
      ? h("table", { id: "file-table" }, h("thead", {}, h("tr", {}, ["Name", "ID", "Purpose", "Size", "Created", ""].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
      : h("p", { class: "muted" }, "No files yet."));
}

async function renderStores(root) {
  const [stores, files] = await Promise.all([all("/v1/vector_stores"), all("/v1/files", 10000)]);
  const name = h("input", { id: "vs-name", placeholder: "Name" });
  const fileSelect = h("select", { id: "vs-files", multiple: true, size: String(Math.min(Math.max(files.length, 2), 6)) },
    files.map((f) => h("option", { value: f.id }, `${f.filename} (${f.id})`)));
  const status = h("div", { id: "vs-status" });
  const create = h("form", { class: "row", id: "vs-create" }, field("New vector store", name), field("With files", fileSelect), h("button", { type: "submit", class: "primary" }, "Create vector store"), status);
  create.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post("/v1/vector_stores", { name: name.value || null, file_ids: [...fileSelect.selectedOptions].map((o) => o.value) });
      await renderStores(root);
    } catch (error) {
      fill(status, notice(error.message, "error"));
    }
  });
  const detail = h("div", { class: "stack", id: "vs-detail" });
  const list = h("ul", { class: "list", id: "vs-list", "aria-label": "Vector stores" });
  for (const vs of stores) {
    list.append(h("li", {}, h("button", {
      type: "button", class: "item", dataset: { id: vs.id },
      onclick: (event) => {
        for (const b of list.querySelectorAll("button.item")) b.classList.toggle("selected", b === event.currentTarget);
        showStore(detail, vs, files).catch((error) => fill(detail, notice(error.message, "error")));
      },
    }, h("span", { class: "item-title" }, vs.name || vs.id), h("span", { class: "item-sub" }, `${vs.id} · ${vs.status} · ${vs.file_counts.completed}/${vs.file_counts.total} files`))));
  }
  fill(root, h("h2", {}, `Vector stores (${stores.length})`), create,
    h("div", { class: "split" }, stores.length ? list : h("p", { class: "muted" }, "No vector stores yet."), detail));
}

/** The store's files and their ingestion status; while one is in progress, redrawn every second (only the
 * table, so a search being typed is left alone) as long as this store is the one shown. */
async function statusTable(vs, names, root, polls = 0) {
  const entries = await all(`/v1/vector_stores/${vs.id}/files`);
  const table = h("table", { id: "vs-files-table" },
    h("thead", {}, h("tr", {}, ["File", "Status", "Size", "Error"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, entries.map((e) => h("tr", { dataset: { id: e.id } },
      h("td", {}, names.get(e.id) || e.id), h("td", {}, h("span", { class: `badge ${e.status}` }, e.status)),
      h("td", {}, e.usage_bytes ? String(e.usage_bytes) : ""), h("td", {}, e.last_error?.message || "")))));
  if (entries.some((e) => e.status === "in_progress") && polls < 120) {
    setTimeout(async () => {
      if (!table.isConnected || root.dataset.store !== vs.id) return;
      const next = await statusTable(vs, names, root, polls + 1);
      if (table.isConnected) table.replaceWith(next.table);
    }, 1000);
  }
  return { table, entries };
}

async function showStore(root, vs, files) {
  const names = new Map(files.map((f) => [f.id, f.filename]));
  root.dataset.store = vs.id;
  const { table, entries } = await statusTable(vs, names, root);
  const add = h("select", { id: "vs-add-file" }, files.filter((f) => !entries.some((e) => e.id === f.id)).map((f) => h("option", { value: f.id }, f.filename)));
  const addButton = h("button", { type: "button", id: "vs-add" }, "Add file");
  addButton.addEventListener("click", async () => {
    if (!add.value) return;
    await post(`/v1/vector_stores/${vs.id}/files`, { file_id: add.value });
    await showStore(root, vs, files);
  });
  const refresh = h("button", { type: "button", id: "vs-refresh", onclick: () => showStore(root, vs, files) }, "Refresh status");
  const q = h("input", { type: "search", id: "vs-query", placeholder: "What are you looking for?" });
  const results = h("div", { class: "stack", id: "vs-results", "aria-live": "polite" });
  const search = h("form", { class: "row", role: "search", id: "vs-search" }, field("Search this vector store", q), h("button", { type: "submit", class: "primary" }, "Search"));
  search.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(results, h("p", { class: "muted" }, "Searching…"));
    try {
      const found = await post(`/v1/vector_stores/${vs.id}/search`, { query: q.value, max_num_results: 10 });
      fill(results, found.data.length ? null : h("p", { class: "muted" }, "No result."));
      for (const r of found.data) {
        results.append(h("article", { class: "passage search-result" },
          h("div", {}, h("strong", {}, r.filename || r.file_id), " ", h("span", { class: "badge score" }, `score ${Number(r.score).toFixed(3)}`)),
          h("pre", {}, r.content.map((c) => c.text).join("\n"))));
      }
    } catch (error) {
      fill(results, notice(error.message, "error"));
    }
  });
  fill(root, h("h3", {}, vs.name || vs.id), table, h("div", { class: "row" }, field("File", add), addButton, refresh), search, results);
}
