// The Vercel AI SDK (ai + @ai-sdk/openai) against assistantd through `openai.responses(model)`:
// `node vercel_ai.mjs SCENARIO`; prints one JSON line (tests/clients/test_vercel_ai.py). It is stateless: each
// step replays the whole history.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const openai = createOpenAI({ baseURL: process.env.OPENAI_BASE_URL, apiKey: process.env.OPENAI_API_KEY });
const model = openai.responses("scripted-model");
const tools = {
  get_weather: tool({
    description: "The weather in a city",
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => `sunny in ${city}`,
  }),
};

const scenarios = {
  async generate() {
    const r = await generateText({ model, prompt: "hello vercel" });
    return { text: r.text, finish: r.finishReason };
  },

  async generate_tool() {
    const r = await generateText({ model, prompt: "weather in Paris?", tools, stopWhen: stepCountIs(3) });
    return { text: r.text, steps: r.steps.length, calls: r.steps.flatMap((s) => s.toolCalls.map((c) => c.toolName)) };
  },

  async stream_tool() {
    const r = streamText({ model, prompt: "weather in Oslo?", tools, stopWhen: stepCountIs(3) });
    let deltas = "";
    for await (const part of r.textStream) deltas += part;
    const steps = await r.steps;
    return { deltas, text: await r.text, steps: steps.length, calls: steps.flatMap((s) => s.toolCalls.map((c) => c.toolName)) };
  },
};

const name = process.argv[2];
if (!scenarios[name]) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await scenarios[name]()));
