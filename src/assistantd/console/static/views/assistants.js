// Assistants and prompts: list, create, edit (model, instructions, tools with function schemas checked as
// you type, tool resources, response format, temperature), and versions side by side with a diff.

import { all, get, post } from "../api.js";
import { field, fill, h, notice, pretty, when } from "../dom.js";
import { renderVersions } from "./versions.js";

const NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** A function tool's JSON, checked: null when valid, else what is wrong (shown under the box). */
export function checkFunction(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `Not valid JSON: ${error.message}`;
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return "A function is a JSON object.";
  if (typeof value.name !== "string" || !NAME.test(value.name)) return "name: 1–64 letters, digits, _ or -.";
  if (value.description !== undefined && typeof value.description !== "string") return "description must be a string.";
  if (value.parameters !== undefined) {
    const p = value.parameters;
    if (!p || typeof p !== "object" || Array.isArray(p)) return "parameters must be a JSON Schema object.";
    if (p.type !== undefined && p.type !== "object") return 'parameters.type must be "object".';
    if (p.properties !== undefined && (typeof p.properties !== "object" || Array.isArray(p.properties))) return "parameters.properties must be an object.";
    if (p.required !== undefined && !Array.isArray(p.required)) return "parameters.required must be an array.";
  }
  if (value.strict !== undefined && typeof value.strict !== "boolean") return "strict must be true or false.";
  return null;
}

function checkJson(text, { kind = "object", optional = true } = {}) {
  if (!text.trim()) return optional ? null : "Required.";
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `Not valid JSON: ${error.message}`;
  }
  if (kind === "array" && !Array.isArray(value)) return "Must be a JSON array.";
  if (kind === "object" && (!value || typeof value !== "object" || Array.isArray(value))) return "Must be a JSON object.";
  return null;
}

/** A textarea that shows `check(text)`'s verdict below it as you type; `valid()` tells the form. */
function checkedBox(label, value, check, attrs = {}) {
  const box = h("textarea", { ...attrs, spellcheck: "false" });
  box.value = value;
  const hint = h("span", { class: "hint", "aria-live": "polite" });
  const update = () => {
    const problem = check(box.value);
    box.classList.toggle("invalid", Boolean(problem));
    box.setAttribute("aria-invalid", problem ? "true" : "false");
    hint.textContent = problem || "Valid.";
    hint.classList.toggle("error", Boolean(problem));
  };
  box.addEventListener("input", update);
  update();
  return { el: field(label, box, hint), box, valid: () => !check(box.value) };
}

const ids = (text) => text.split(/[\s,]+/).filter(Boolean);

let models = null;

async function modelList() {
  if (!models) {
    try {
      models = (await get("/v1/models")).data.map((m) => m.id);
    } catch {
      models = [];
    }
  }
  return h("datalist", { id: "models" }, models.map((id) => h("option", { value: id })));
}

export async function render(root) {
  let tab = "assistants";
  const tabs = h("div", { class: "tabs", role: "group", "aria-label": "Show" });
  const body = h("div");
  const title = h("h1", { id: "view-title" }, "Assistants & prompts");
  root.append(title, tabs, body, await modelList());
  const show = async (name, selected) => {
    tab = name;
    fill(
      tabs,
      ["assistants", "prompts"].map((t) =>
        h("button", { type: "button", "aria-pressed": String(t === tab), id: `tab-${t}`, onclick: () => show(t) }, t === "assistants" ? "Assistants" : "Prompts"),
      ),
    );
    await (name === "assistants" ? assistants(body, selected) : prompts(body, selected));
  };
  await show("assistants");
}

async function assistants(root, selectedId) {
  const items = await all("/v1/assistants");
  const list = h("ul", { class: "list", id: "assistant-list", "aria-label": "Assistants" });
  const editor = h("div", { class: "stack" });
  const versions = h("div", { id: "versions" });
  const open = (assistant) => {
    for (const b of list.querySelectorAll("button.item")) b.classList.toggle("selected", b.dataset.id === assistant?.id);
    assistantForm(editor, versions, assistant, (saved) => assistants(root, saved.id));
  };
  for (const a of items) {
    list.append(
      h("li", {}, h("button", { type: "button", class: "item", dataset: { id: a.id }, onclick: () => open(a) },
        h("span", { class: "item-title" }, a.name || "(unnamed)"), h("span", { class: "item-sub" }, `${a.model} · ${a.id}`))),
    );
  }
  fill(
    root,
    h("div", { class: "split" },
      h("div", { class: "card stack" }, h("button", { type: "button", class: "primary", id: "new-assistant", onclick: () => open(null) }, "New assistant"),
        items.length ? list : h("p", { class: "muted" }, "No assistants yet.")),
      h("div", { class: "stack" }, h("div", { class: "card" }, editor), h("div", { class: "card" }, versions))),
  );
  open(items.find((a) => a.id === selectedId) || items[0] || null);
}

function assistantForm(root, versionsRoot, a, saved) {
  const name = h("input", { id: "a-name", value: a?.name || "" });
  const model = h("input", { id: "a-model", list: "models", required: true, value: a?.model || models?.[0] || "" });
  const instructions = h("textarea", { id: "a-instructions", class: "prose" });
  instructions.value = a?.instructions || "";
  const temperature = h("input", { id: "a-temperature", type: "number", min: "0", max: "2", step: "0.1", value: a?.temperature ?? 1 });
  const tools = a?.tools || [];
  const ci = h("input", { type: "checkbox", id: "a-code-interpreter", checked: tools.some((t) => t.type === "code_interpreter") });
  const fs = h("input", { type: "checkbox", id: "a-file-search", checked: tools.some((t) => t.type === "file_search") });
  const ciFiles = h("input", { id: "a-ci-files", value: (a?.tool_resources?.code_interpreter?.file_ids || []).join(", ") });
  const fsStores = h("input", { id: "a-fs-stores", value: (a?.tool_resources?.file_search?.vector_store_ids || []).join(", ") });
  const rf = a?.response_format;
  const rfType = h("select", { id: "a-response-format" }, ["auto", "text", "json_object", "json_schema"].map((v) => h("option", { value: v }, v)));
  rfType.value = typeof rf === "string" ? rf : rf?.type || "auto";
  const schema = checkedBox("JSON schema (json_schema: {name, schema, strict})", rf?.json_schema ? pretty(rf.json_schema) : "", (t) => (rfType.value === "json_schema" ? checkJson(t, { optional: false }) : null), { id: "a-json-schema" });
  const syncSchema = () => {
    schema.el.hidden = rfType.value !== "json_schema";
    schema.box.dispatchEvent(new Event("input"));
  };
  rfType.addEventListener("change", syncSchema);
  const functions = h("div", { class: "stack", id: "a-functions" });
  const boxes = [];
  const addFunction = (fn) => {
    const box = checkedBox(`Function ${boxes.length + 1}`, pretty(fn || { name: "", description: "", parameters: { type: "object", properties: {} } }), checkFunction, { class: "function-json" });
    const entry = { ...box };
    const remove = h("button", { type: "button", onclick: () => { boxes.splice(boxes.indexOf(entry), 1); wrap.remove(); } }, "Remove function");
    const wrap = h("div", { class: "stack" }, box.el, remove);
    boxes.push(entry);
    functions.append(wrap);
  };
  for (const t of tools) if (t.type === "function") addFunction(t.function);
  const status = h("div", { id: "a-status" });
  const form = h(
    "form",
    { class: "stack", id: "assistant-form" },
    h("h2", {}, a ? `Edit ${a.name || a.id}` : "New assistant"),
    a ? h("p", { class: "item-sub" }, `${a.id} · created ${when(a.created_at)}`) : null,
    h("div", { class: "row" }, field("Name", name), field("Model", model), field("Temperature", temperature)),
    field("Instructions", instructions),
    h("fieldset", { class: "stack" }, h("legend", {}, "Tools"),
      h("label", { class: "row" }, ci, "code_interpreter"), field("code_interpreter file IDs (tool_resources)", ciFiles),
      h("label", { class: "row" }, fs, "file_search"), field("file_search vector store IDs (tool_resources)", fsStores),
      functions, h("button", { type: "button", id: "add-function", onclick: () => addFunction() }, "Add function")),
    field("Response format", rfType),
    schema.el,
    h("div", { class: "row" }, h("button", { type: "submit", class: "primary", id: "save-assistant" }, a ? "Save new version" : "Create assistant")),
    status,
  );
  syncSchema();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!boxes.every((b) => b.valid()) || !schema.valid()) {
      fill(status, notice("Fix the fields marked in red first.", "error"));
      return;
    }
    const body = {
      name: name.value || null,
      model: model.value,
      instructions: instructions.value || null,
      temperature: Number(temperature.value),
      tools: [
        ...(ci.checked ? [{ type: "code_interpreter" }] : []),
        ...(fs.checked ? [{ type: "file_search" }] : []),
        ...boxes.map((b) => ({ type: "function", function: JSON.parse(b.box.value) })),
      ],
      tool_resources: {
        ...(ci.checked ? { code_interpreter: { file_ids: ids(ciFiles.value) } } : {}),
        ...(fs.checked ? { file_search: { vector_store_ids: ids(fsStores.value) } } : {}),
      },
      response_format: rfType.value === "json_schema" ? { type: "json_schema", json_schema: JSON.parse(schema.box.value) } : rfType.value === "auto" ? "auto" : { type: rfType.value },
    };
    try {
      const result = await post(a ? `/v1/assistants/${a.id}` : "/v1/assistants", body);
      saved(result);
    } catch (error) {
      fill(status, notice(error.message, "error"));
    }
  });
  fill(root, form);
  if (a) renderVersions(versionsRoot, `/v1/assistants/${a.id}/versions`).catch((e) => fill(versionsRoot, notice(e.message, "error")));
  else fill(versionsRoot, h("p", { class: "muted" }, "Versions appear once the assistant exists."));
}

async function prompts(root, selectedId) {
  const items = await all("/v1/prompts");
  const list = h("ul", { class: "list", id: "prompt-list", "aria-label": "Prompts" });
  const editor = h("div", { class: "stack" });
  const versions = h("div", { id: "versions" });
  const open = (p) => {
    for (const b of list.querySelectorAll("button.item")) b.classList.toggle("selected", b.dataset.id === p?.id);
    promptForm(editor, versions, p, (saved) => prompts(root, saved.id));
  };
  for (const p of items) {
    list.append(h("li", {}, h("button", { type: "button", class: "item", dataset: { id: p.id }, onclick: () => open(p) },
      h("span", { class: "item-title" }, p.name || "(unnamed)"), h("span", { class: "item-sub" }, `v${p.version} · ${p.model || ""} · ${p.id}`))));
  }
  fill(root, h("div", { class: "split" },
    h("div", { class: "card stack" }, h("button", { type: "button", class: "primary", id: "new-prompt", onclick: () => open(null) }, "New prompt"),
      items.length ? list : h("p", { class: "muted" }, "No prompts yet.")),
    h("div", { class: "stack" }, h("div", { class: "card" }, editor), h("div", { class: "card" }, versions))));
  open(items.find((p) => p.id === selectedId) || items[0] || null);
}

function promptForm(root, versionsRoot, p, saved) {
  const name = h("input", { id: "p-name", value: p?.name || "" });
  const model = h("input", { id: "p-model", list: "models", value: p?.model || models?.[0] || "" });
  const instructions = h("textarea", { id: "p-instructions", class: "prose" });
  instructions.value = p?.instructions || "";
  const temperature = h("input", { id: "p-temperature", type: "number", min: "0", max: "2", step: "0.1", value: p?.temperature ?? "" });
  const tools = checkedBox("Tools (Responses shape, a JSON array)", pretty(p?.tools || []), (t) => {
    const problem = checkJson(t, { kind: "array" });
    if (problem) return problem;
    for (const tool of t.trim() ? JSON.parse(t) : []) {
      if (tool?.type === "function") {
        const bad = checkFunction(JSON.stringify(tool));
        if (bad) return `function ${tool.name || "?"}: ${bad}`;
      }
    }
    return null;
  }, { id: "p-tools" });
  const text = checkedBox("Text format (JSON object, optional)", p?.text ? pretty(p.text) : "", (t) => checkJson(t), { id: "p-text" });
  const variables = checkedBox("Variables (defaults, JSON object)", pretty(p?.variables || {}), (t) => checkJson(t), { id: "p-variables" });
  const status = h("div", { id: "p-status" });
  const form = h("form", { class: "stack", id: "prompt-form" },
    h("h2", {}, p ? `Edit ${p.name || p.id} (v${p.version})` : "New prompt"),
    h("div", { class: "row" }, field("Name", name), field("Model", model), field("Temperature", temperature)),
    field("Instructions ({{variable}} placeholders)", instructions),
    tools.el, text.el, variables.el,
    h("button", { type: "submit", class: "primary", id: "save-prompt" }, p ? "Save new version" : "Create prompt"),
    status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (![tools, text, variables].every((b) => b.valid())) {
      fill(status, notice("Fix the fields marked in red first.", "error"));
      return;
    }
    const body = {
      name: name.value || null,
      model: model.value || null,
      instructions: instructions.value || null,
      tools: tools.box.value.trim() ? JSON.parse(tools.box.value) : [],
      variables: variables.box.value.trim() ? JSON.parse(variables.box.value) : {},
    };
    if (temperature.value !== "") body.temperature = Number(temperature.value);
    if (text.box.value.trim()) body.text = JSON.parse(text.box.value);
    try {
      saved(await post(p ? `/v1/prompts/${p.id}` : "/v1/prompts", body));
    } catch (error) {
      fill(status, notice(error.message, "error"));
    }
  });
  fill(root, form);
  if (p) renderVersions(versionsRoot, `/v1/prompts/${p.id}/versions`).catch((e) => fill(versionsRoot, notice(e.message, "error")));
  else fill(versionsRoot, h("p", { class: "muted" }, "Versions appear once the prompt exists."));
}
