// The OpenAI Agents SDK for JS (@openai/agents) against assistantd: `node agents_js.mjs SCENARIO`; prints one
// JSON line. It always sends `stream: true`, even for a non-streamed run (tests/clients/test_agents_js.py).
import { Agent, run, setDefaultOpenAIClient, setOpenAIAPI, setTracingDisabled, tool } from "@openai/agents";
import OpenAI from "openai";
import { z } from "zod";

setTracingDisabled(true);
setOpenAIAPI("responses");
const client = new OpenAI({ maxRetries: 0 });
setDefaultOpenAIClient(client);

const getWeather = tool({
  name: "get_weather",
  description: "The weather in a city",
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => `sunny in ${city}`,
});
const agent = new Agent({
  name: "weather",
  instructions: "Answer with the tool's result.",
  model: "scripted-model",
  tools: [getWeather],
});

const scenarios = {
  async tool_loop() {
    const result = await run(agent, "weather in Paris?");
    return { final: result.finalOutput, last: result.lastResponseId };
  },

  async streamed() {
    const result = await run(agent, "weather in Paris?", { stream: true });
    let deltas = "";
    for await (const event of result) {
      if (event.type === "raw_model_stream_event" && event.data.type === "output_text_delta") deltas += event.data.delta;
    }
    await result.completed;
    return { final: result.finalOutput, deltas };
  },

  async previous_response_id() {
    const echo = new Agent({ name: "echo", model: "scripted-model" });
    const first = await run(echo, "first turn");
    const second = await run(echo, "second turn", { previousResponseId: first.lastResponseId });
    return { first: first.lastResponseId, final: second.finalOutput };
  },

  // State in a server conversation: conversationId sends `conversation` and only the new items.
  async conversation() {
    const conversation = await client.conversations.create({});
    const first = await run(agent, "weather in Paris?", { conversationId: conversation.id });
    const second = await run(agent, "and now?", { conversationId: conversation.id });
    const items = [];
    for await (const item of client.conversations.items.list(conversation.id, { order: "asc" })) items.push(item.type);
    return { first: first.finalOutput, second: second.finalOutput, items };
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenarios[name]()));
