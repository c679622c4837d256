// The playground: chat with an assistant (Assistants API: thread, message, streamed run) or with a prompt
// or a model (Responses API, streamed), token by token. Tool calls are drawn as they stream: function
// arguments and outputs, file_search results with their passages, code_interpreter code, logs and images;
// a function call waits for the user to answer it here (submit_tool_outputs / function_call_output).

import { all, blobUrl, post, stream } from "../api.js";
import { field, fill, h, notice, pretty } from "../dom.js";
import { checkFunction } from "./assistants.js";

const FILE_SEARCH_CONTENT = "step_details.tool_calls[*].file_search.results[*].content";

export async function render(root, params) {
  const [assistants, prompts] = await Promise.all([all("/v1/assistants"), all("/v1/prompts")]);
  const mode = h("select", { id: "pg-mode" },
    h("option", { value: "assistant" }, "Assistant (Assistants API)"),
    h("option", { value: "prompt" }, "Prompt (Responses API)"),
    h("option", { value: "model" }, "Model (Responses API)"));
  const assistant = h("select", { id: "pg-assistant" }, assistants.map((a) => h("option", { value: a.id }, `${a.name || "(unnamed)"} · ${a.id}`)));
  const prompt = h("select", { id: "pg-prompt" }, prompts.map((p) => h("option", { value: p.id }, `${p.name || "(unnamed)"} · v${p.version}`)));
  const model = h("input", { id: "pg-model", value: assistants[0]?.model || "gpt-4o-mini" });
  const tools = h("textarea", { id: "pg-tools", spellcheck: "false", placeholder: '[{"type": "function", "name": "get_weather", "parameters": {"type": "object", "properties": {}}}]' });
  const toolsHint = h("span", { class: "hint", "aria-live": "polite" });
  const pickers = {
    assistant: field("Assistant", assistant),
    prompt: field("Prompt", prompt),
    model: h("div", { class: "stack grow" }, field("Model", model), field("Tools (Responses shape, optional JSON array)", tools, toolsHint)),
  };
  // A log, busy while a turn streams: screen readers read the answer once it is complete, not per token.
  const chat = h("div", { class: "chat card", id: "pg-chat", role: "log", "aria-label": "Conversation", tabindex: "0" });
  const input = h("textarea", { id: "pg-input", class: "prose grow", placeholder: "Say something… (Ctrl+Enter sends)" });
  const send = h("button", { type: "submit", class: "primary", id: "pg-send" }, "Send");
  const metrics = h("p", { class: "metrics", id: "pg-metrics", role: "status" });
  const reset = h("button", { type: "button", id: "pg-new" }, "New chat");
  const composer = h("form", { class: "composer", id: "pg-form" }, h("label", { for: "pg-input", class: "field-label" }, "Message"), input, send);

  const session = new Session(chat, metrics, send);
  const sync = () => {
    for (const [name, el] of Object.entries(pickers)) el.hidden = name !== mode.value;
    session.reset();
  };
  mode.addEventListener("change", sync);
  for (const el of [assistant, prompt, model]) el.addEventListener("change", () => session.reset());
  reset.addEventListener("click", () => session.reset());
  tools.addEventListener("input", () => {
    const problem = checkTools(tools.value);
    toolsHint.textContent = problem || (tools.value.trim() ? "Valid." : "");
    toolsHint.classList.toggle("error", Boolean(problem));
    tools.classList.toggle("invalid", Boolean(problem));
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
  });
  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || session.busy) return;
    if (mode.value === "model" && checkTools(tools.value)) return;
    input.value = "";
    const target =
      mode.value === "assistant" ? { assistant: assistant.value }
      : mode.value === "prompt" ? { prompt: prompt.value }
      : { model: model.value, tools: tools.value.trim() ? JSON.parse(tools.value) : [] };
    await session.say(text, target);
    input.focus();
  });

  if (params[0] === "assistant" && params[1]) assistant.value = params[1];
  if (params[0] === "prompt" && params[1]) {
    mode.value = "prompt";
    prompt.value = params[1];
  }
  if (params[0] === "model") mode.value = "model";
  root.append(
    h("h1", { id: "view-title" }, "Playground"),
    h("div", { class: "card row" }, field("Chat with", mode), pickers.assistant, pickers.prompt, pickers.model, reset),
    chat, composer, metrics,
  );
  sync();
  if (mode.value === "assistant" && !assistants.length) chat.append(notice("No assistant yet: create one under Assistants & prompts, or pick a model."));
}

function checkTools(text) {
  if (!text.trim()) return null;
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `Not valid JSON: ${error.message}`;
  }
  if (!Array.isArray(value)) return "Must be a JSON array of tools.";
  for (const tool of value) {
    if (tool?.type === "function") {
      const problem = checkFunction(JSON.stringify(tool));
      if (problem) return `function ${tool.name || "?"}: ${problem}`;
    }
  }
  return null;
}

/** One conversation in the page: a thread (Assistants) or a chain of responses (Responses). */
class Session {
  constructor(chat, metrics, send) {
    this.chat = chat;
    this.metrics = metrics;
    this.send = send;
    this.reset();
  }

  reset() {
    this.threadId = null;
    this.previousResponseId = null;
    this.busy = false;
    this.send.disabled = false;
    fill(this.chat);
    this.metrics.textContent = "";
  }

  bubble(role, text = "") {
    const body = document.createTextNode(text);
    const el = h("div", { class: `bubble ${role}`, dataset: { role } }, h("span", { class: "role" }, role), body);
    this.chat.append(el);
    el.scrollIntoView({ block: "end" });
    return { el, body };
  }

  tool(title) {
    const body = h("div", { class: "tool-body" });
    const summary = h("summary", {}, title);
    const el = h("details", { class: "tool", open: true }, summary, body);
    this.chat.append(el);
    el.scrollIntoView({ block: "end" });
    return { el, body, summary };
  }

  error(text) {
    this.chat.append(notice(text, "error"));
  }

  startClock() {
    this.t0 = performance.now();
    this.first = null;
    this.metrics.textContent = "Waiting for the first token…";
    delete document.body.dataset.firstTokenMs;
  }

  tick() {
    if (this.first !== null) return;
    this.first = performance.now() - this.t0;
    document.body.dataset.firstTokenMs = this.first.toFixed(1);
    this.metrics.textContent = `First token after ${this.first.toFixed(0)} ms`;
  }

  stopClock(status) {
    const total = performance.now() - this.t0;
    const first = this.first === null ? "no text" : `first token ${this.first.toFixed(0)} ms`;
    this.metrics.textContent = `${status} · ${first} · total ${total.toFixed(0)} ms`;
    document.body.dataset.turn = String(Number(document.body.dataset.turn || 0) + 1);
  }

  set busy(value) {
    this._busy = value;
    this.chat.setAttribute("aria-busy", String(value));
  }

  get busy() {
    return this._busy;
  }

  async say(text, target) {
    this.busy = true;
    this.send.disabled = true;
    this.bubble("user", text);
    try {
      if (target.assistant) await this.assistantTurn(text, target.assistant);
      else await this.responseTurn([{ role: "user", content: text }], target);
    } catch (error) {
      this.error(error.message);
      this.stopClock("error");
    } finally {
      this.busy = false;
      this.send.disabled = false;
    }
  }

  // --- Assistants API ------------------------------------------------------------------------------

  async assistantTurn(text, assistantId) {
    if (!this.threadId) this.threadId = (await post("/v1/threads", {})).id;
    await post(`/v1/threads/${this.threadId}/messages`, { role: "user", content: text });
    this.startClock();
    this.steps = new Map(); // a run's steps, kept across its streams (a submit continues the same step)
    const path = `/v1/threads/${this.threadId}/runs?include[]=${encodeURIComponent(FILE_SEARCH_CONTENT)}`;
    await this.runStream(path, { assistant_id: assistantId, stream: true });
  }

  async runStream(path, body) {
    const messages = new Map();
    const steps = this.steps;
    let ended = "done";
    await stream(path, body, (type, data) => {
      if (type === "thread.message.created") {
        messages.set(data.id, this.bubble("assistant"));
      } else if (type === "thread.message.delta") {
        const b = messages.get(data.id) || this.bubble("assistant");
        messages.set(data.id, b);
        for (const part of data.delta.content || []) {
          if (part.type === "text" && part.text?.value) {
            this.tick();
            b.body.appendData(part.text.value);
          }
        }
      } else if (type === "thread.message.completed") {
        const b = messages.get(data.id);
        if (b) this.messageExtras(b.el, data.content);
      } else if (type === "thread.run.step.created" && data.type === "tool_calls") {
        if (!steps.has(data.id)) steps.set(data.id, { calls: [], panels: [] });
      } else if (type === "thread.run.step.delta") {
        const step = steps.get(data.id) || { calls: [], panels: [] };
        steps.set(data.id, step);
        for (const delta of data.delta.step_details?.tool_calls || []) mergeCall(step.calls, delta);
        this.drawStep(step);
      } else if (type === "thread.run.step.completed" && data.type === "tool_calls") {
        const step = steps.get(data.id) || { calls: [], panels: [] };
        steps.set(data.id, step);
        step.calls = structuredClone(data.step_details.tool_calls);
        this.drawStep(step);
      } else if (type === "thread.run.requires_action") {
        ended = "requires_action";
        this.answerForm(data);
      } else if (type === "thread.run.completed") {
        ended = "completed";
      } else if (type === "thread.run.failed" || type === "thread.run.expired" || type === "thread.run.incomplete") {
        ended = data.status;
        this.error(`Run ${data.status}: ${data.last_error?.message || data.incomplete_details?.reason || ""}`);
      } else if (type === "error") {
        ended = "error";
        this.error(data?.message || data?.error?.message || "The stream reported an error.");
      }
    });
    this.stopClock(`run ${ended}`);
  }

  drawStep(step) {
    step.calls.forEach((call, i) => {
      if (!step.panels[i]) step.panels[i] = this.tool("");
      drawCall(step.panels[i], call);
    });
  }

  answerForm(run) {
    const calls = run.required_action.submit_tool_outputs.tool_calls;
    const boxes = calls.map((call) => {
      const box = h("textarea", { class: "tool-output", dataset: { callId: call.id }, "aria-label": `Output of ${call.function.name}` });
      return { call, box };
    });
    const button = h("button", { type: "submit", class: "primary", id: "pg-submit-outputs" }, "Submit tool outputs");
    const form = h("form", { class: "tool stack", id: "pg-answer" },
      h("strong", {}, "The run waits for your function outputs"),
      boxes.map(({ call, box }) => h("div", { class: "stack" },
        h("span", {}, `${call.function.name}(`, h("code", {}, call.function.arguments), ")"), box)),
      button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      form.remove();
      this.busy = true;
      this.send.disabled = true;
      try {
        this.startClock();
        const tool_outputs = boxes.map(({ call, box }) => ({ tool_call_id: call.id, output: box.value }));
        const path = `/v1/threads/${run.thread_id}/runs/${run.id}/submit_tool_outputs?include[]=${encodeURIComponent(FILE_SEARCH_CONTENT)}`;
        await this.runStream(path, { tool_outputs, stream: true });
      } catch (error) {
        this.error(error.message);
      } finally {
        this.busy = false;
        this.send.disabled = false;
      }
    });
    this.chat.append(form);
    boxes[0]?.box.focus();
  }

  messageExtras(el, content) {
    for (const part of content || []) {
      for (const a of part.text?.annotations || []) {
        const cited = a.file_citation ? `file ${a.file_citation.file_id}${a.file_citation.quote ? `: “${a.file_citation.quote}”` : ""}` : a.file_path ? `file ${a.file_path.file_id}` : a.type;
        el.append(h("div", { class: "passage" }, h("strong", {}, a.text || "citation"), " ", cited));
      }
      if (part.type === "image_file") image(el, part.image_file.file_id);
    }
  }

  // --- Responses API -------------------------------------------------------------------------------

  async responseTurn(input, target) {
    const body = { input, stream: true, include: ["file_search_call.results", "code_interpreter_call.outputs"] };
    if (target.prompt) body.prompt = { id: target.prompt };
    else {
      body.model = target.model;
      if (target.tools?.length) body.tools = target.tools;
    }
    this.target = target;
    if (this.previousResponseId) body.previous_response_id = this.previousResponseId;
    this.startClock();
    const items = new Map();
    let ended = "done";
    let response = null;
    await stream("/v1/responses", body, (type, data) => {
      if (type === "response.output_item.added") {
        const item = data.item;
        items.set(item.id, item.type === "message" ? this.bubble("assistant") : { panel: this.tool(""), item: { ...item } });
        if (item.type !== "message") drawItem(items.get(item.id).panel, item);
      } else if (type === "response.output_text.delta") {
        const b = items.get(data.item_id);
        this.tick();
        if (b?.body) b.body.appendData(data.delta);
      } else if (type === "response.function_call_arguments.delta" || type === "response.code_interpreter_call_code.delta") {
        const entry = items.get(data.item_id);
        if (entry?.item) {
          const key = entry.item.type === "function_call" ? "arguments" : "code";
          entry.item[key] = (entry.item[key] || "") + data.delta;
          drawItem(entry.panel, entry.item);
        }
      } else if (type === "response.output_item.done") {
        const entry = items.get(data.item.id);
        if (entry?.panel) drawItem(entry.panel, data.item);
        else if (entry?.el) this.messageExtras(entry.el, (data.item.content || []).map((p) => ({ text: { annotations: p.annotations } })));
      } else if (type === "response.completed" || type === "response.incomplete" || type === "response.failed") {
        response = data.response;
        ended = response.status;
        if (response.error) this.error(`Response failed: ${response.error.message}`);
      } else if (type === "error") {
        ended = "error";
        this.error(data?.message || data?.error?.message || "The stream reported an error.");
      }
    });
    this.stopClock(`response ${ended}`);
    if (response) {
      this.previousResponseId = response.id;
      const calls = (response.output || []).filter((item) => item.type === "function_call");
      if (calls.length) this.functionForm(calls);
    }
  }

  functionForm(calls) {
    const boxes = calls.map((call) => ({ call, box: h("textarea", { class: "tool-output", dataset: { callId: call.call_id }, "aria-label": `Output of ${call.name}` }) }));
    const button = h("button", { type: "submit", class: "primary", id: "pg-submit-outputs" }, "Send function outputs");
    const form = h("form", { class: "tool stack", id: "pg-answer" },
      h("strong", {}, "The model called your functions: answer them"),
      boxes.map(({ call, box }) => h("div", { class: "stack" }, h("span", {}, `${call.name}(`, h("code", {}, call.arguments), ")"), box)),
      button);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      form.remove();
      this.busy = true;
      this.send.disabled = true;
      try {
        await this.responseTurn(boxes.map(({ call, box }) => ({ type: "function_call_output", call_id: call.call_id, output: box.value })), this.target);
      } catch (error) {
        this.error(error.message);
      } finally {
        this.busy = false;
        this.send.disabled = false;
      }
    });
    this.chat.append(form);
    boxes[0]?.box.focus();
  }
}

/** Fold one streamed tool-call delta (by index) into the list of calls so far. */
function mergeCall(calls, delta) {
  const call = (calls[delta.index ?? calls.length] ||= { type: delta.type });
  if (delta.id) call.id = delta.id;
  for (const key of ["function", "code_interpreter", "file_search"]) {
    if (!delta[key]) continue;
    const into = (call[key] ||= {});
    for (const [k, v] of Object.entries(delta[key])) {
      if (typeof v === "string" && (k === "arguments" || k === "input")) into[k] = (into[k] || "") + v;
      else if (Array.isArray(v)) into[k] = [...(into[k] || []), ...v];
      else if (v !== null && v !== undefined) into[k] = v;
    }
  }
}

/** An image the API serves (a File, or a container file's URL): fetched with the key, shown from a blob. */
function image(el, fileId, path = `/v1/files/${fileId}/content`) {
  const name = fileId || path.split("/").at(-2);
  const img = h("img", { alt: `Image ${name}`, class: "tool-image" });
  el.append(img);
  blobUrl(path)
    .then((url) => {
      img.src = url;
    })
    .catch(() => {
      img.alt = `Image ${name} (could not load)`;
    });
}

function results(body, list) {
  for (const r of list || []) {
    const text = (r.content || []).map((c) => c.text).join("\n") || r.text || "";
    body.append(h("div", { class: "passage" },
      h("div", {}, h("strong", {}, r.file_name || r.filename || r.file_id), ` · score ${Number(r.score).toFixed(3)}`),
      text ? h("pre", { class: "passage-text" }, text) : null));
  }
}

/** An Assistants tool call (function, code_interpreter, file_search) drawn into its panel. */
function drawCall(panel, call) {
  const { body, summary } = panel;
  fill(body);
  if (call.type === "function") {
    summary.textContent = `function ${call.function?.name || ""}`;
    body.append(h("div", { class: "field-label" }, "Arguments"), h("pre", { class: "tool-args" }, pretty(call.function?.arguments || "")));
    if (call.function?.output != null) body.append(h("div", { class: "field-label" }, "Output"), h("pre", { class: "tool-out" }, call.function.output));
  } else if (call.type === "code_interpreter") {
    summary.textContent = "code_interpreter";
    body.append(h("pre", { class: "tool-code" }, call.code_interpreter?.input || ""));
    for (const out of call.code_interpreter?.outputs || []) {
      if (out.type === "logs") body.append(h("div", { class: "field-label" }, "Logs"), h("pre", { class: "tool-logs" }, out.logs));
      if (out.type === "image") image(body, out.image.file_id);
    }
  } else if (call.type === "file_search") {
    summary.textContent = "file_search";
    const found = call.file_search?.results;
    if (found) results(body, found);
    else body.append(h("span", { class: "muted" }, "Searching…"));
  } else {
    summary.textContent = call.type || "tool";
    body.append(h("pre", {}, pretty(call)));
  }
}

/** A Responses output item other than a message, drawn into its panel. */
function drawItem(panel, item) {
  const { body, summary } = panel;
  fill(body);
  if (item.type === "function_call") {
    summary.textContent = `function ${item.name || ""}`;
    body.append(h("div", { class: "field-label" }, "Arguments"), h("pre", { class: "tool-args" }, pretty(item.arguments || "")));
  } else if (item.type === "code_interpreter_call") {
    summary.textContent = "code_interpreter";
    body.append(h("pre", { class: "tool-code" }, item.code || ""));
    for (const out of item.outputs || []) {
      if (out.type === "logs") body.append(h("div", { class: "field-label" }, "Logs"), h("pre", { class: "tool-logs" }, out.logs));
      if (out.type === "image" && (out.url || "").startsWith("data:")) body.append(h("img", { src: out.url, alt: "code_interpreter output" }));
      else if (out.type === "image" && (out.url || "").startsWith("/v1/")) image(body, null, out.url); // needs the key
    }
  } else if (item.type === "file_search_call") {
    summary.textContent = `file_search ${(item.queries || []).join("; ")}`;
    if (item.results) results(body, item.results);
    else body.append(h("span", { class: "muted" }, item.status || ""));
  } else {
    summary.textContent = item.type;
    body.append(h("pre", {}, pretty(item)));
  }
}
