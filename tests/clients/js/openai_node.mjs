// openai-node against assistantd: `node openai_node.mjs SCENARIO`; prints one JSON line with what it saw.
// OPENAI_BASE_URL and OPENAI_API_KEY point it at the server (tests/clients/test_openai_node.py).
import OpenAI from "openai";
import { zodTextFormat } from "openai/helpers/zod";
import { z } from "zod";

const client = new OpenAI({ maxRetries: 0 });
const model = "scripted-model";
const weather = {
  type: "function",
  name: "get_weather",
  description: "The weather in a city",
  parameters: { type: "object", properties: {}, additionalProperties: false },
  strict: true,
};

const scenarios = {
  // responses.create with a string, then retrieve and input_items.list.
  async create() {
    const r = await client.responses.create({ model, input: "hello node" });
    const again = await client.responses.retrieve(r.id);
    const items = [];
    for await (const item of client.responses.inputItems.list(r.id)) items.push(item);
    return { id: r.id, status: r.status, text: r.output_text, retrieved: again.output_text, items };
  },

  // responses.stream: deltas, the event order, and finalResponse().
  async stream() {
    const stream = client.responses.stream({ model, input: "stream node" });
    const types = [];
    let deltas = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") deltas += event.delta;
    }
    const final = await stream.finalResponse();
    return { types, deltas, text: final.output_text, status: final.status };
  },

  // The function-call loop, chained by previous_response_id.
  async tools_chained() {
    const first = await client.responses.create({ model, input: "please call get_weather", tools: [weather] });
    const calls = first.output.filter((o) => o.type === "function_call");
    const outputs = calls.map((c) => ({ type: "function_call_output", call_id: c.call_id, output: "sunny, 21C" }));
    const second = await client.responses.create({
      model,
      previous_response_id: first.id,
      input: outputs,
      tools: [weather],
    });
    return { calls: calls.map((c) => c.name), text: second.output_text, status: second.status };
  },

  // The function-call loop, stateless: the whole history replayed, store: false.
  async tools_replay() {
    const input = [{ role: "user", content: "please call get_weather" }];
    const first = await client.responses.create({ model, input, tools: [weather], store: false });
    const calls = first.output.filter((o) => o.type === "function_call");
    input.push(...first.output);
    for (const c of calls) input.push({ type: "function_call_output", call_id: c.call_id, output: "rainy" });
    const second = await client.responses.create({ model, input, tools: [weather], store: false });
    return { calls: calls.map((c) => c.name), text: second.output_text, status: second.status };
  },

  // The function-call loop, streamed: the call's arguments arrive as events, the answer as deltas.
  async tools_stream() {
    const stream = client.responses.stream({ model, input: "please call get_weather", tools: [weather] });
    const types = [];
    for await (const event of stream) types.push(event.type);
    const first = await stream.finalResponse();
    const calls = first.output.filter((o) => o.type === "function_call");
    const next = client.responses.stream({
      model,
      previous_response_id: first.id,
      input: calls.map((c) => ({ type: "function_call_output", call_id: c.call_id, output: "foggy" })),
      tools: [weather],
    });
    let deltas = "";
    for await (const event of next) if (event.type === "response.output_text.delta") deltas += event.delta;
    const second = await next.finalResponse();
    return { types, calls: calls.map((c) => c.name), deltas, text: second.output_text };
  },

  // responses.parse with zodTextFormat: a strict json_schema text.format, the answer parsed by the SDK.
  async parse() {
    const Echo = z.object({ echo: z.string() });
    const r = await client.responses.parse({ model, input: "parse me", text: { format: zodTextFormat(Echo, "echo") } });
    return { parsed: r.output_parsed, format: r.text.format };
  },

  // Background and streamed at once, then the stream resumed by id; cancel of the finished one; delete.
  async background_stream() {
    const stream = await client.responses.create({ model, input: "bg stream", background: true, stream: true });
    let id;
    const seqs = [];
    for await (const event of stream) {
      seqs.push(event.sequence_number);
      if (event.type === "response.created") id = event.response.id;
    }
    const resumed = client.responses.stream({ response_id: id, starting_after: 3 });
    const again = [];
    for await (const event of resumed) again.push(event.sequence_number);
    const final = await resumed.finalResponse();
    let cancel;
    try {
      await client.responses.cancel(id);
      cancel = "ok";
    } catch (e) {
      cancel = { status: e.status, code: e.code ?? null, type: e.type ?? null };
    }
    const count = await client.responses.inputTokens.count({ model, input: "count these tokens" });
    await client.responses.delete(id);
    let after;
    try {
      await client.responses.retrieve(id);
      after = "still there";
    } catch (e) {
      after = e.status;
    }
    return { seqs, again, text: final.output_text, cancel, count: count.input_tokens, after };
  },

  // A chain continued the moment a streamed response completes (peers answer previous_response_not_found for
  // a while after a stream): 10 rounds, each chained to the last, plus retrieve at once.
  async chain_after_stream() {
    let previous = null;
    const texts = [];
    for (let i = 0; i < 10; i++) {
      const stream = client.responses.stream({ model, input: `turn ${i}`, previous_response_id: previous });
      const final = await stream.finalResponse();
      const got = await client.responses.retrieve(final.id);
      texts.push([final.output_text, got.status]);
      previous = final.id;
    }
    return { texts };
  },

  // Background: poll to the end, then resume the stream from an event number.
  async background() {
    const r = await client.responses.create({ model, input: "background node", background: true });
    const deadline = Date.now() + 30000;
    let done = r;
    while (["queued", "in_progress"].includes(done.status) && Date.now() < deadline) {
      await new Promise((ok) => setTimeout(ok, 50));
      done = await client.responses.retrieve(r.id);
    }
    const resumed = client.responses.stream({ response_id: r.id, starting_after: 1 });
    const seqs = [];
    for await (const event of resumed) seqs.push(event.sequence_number);
    const final = await resumed.finalResponse();
    return { initial: r.status, status: done.status, text: done.output_text, seqs, resumed: final.output_text };
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenarios[name]()));
