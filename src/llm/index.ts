/** LLM operations: guardrails, the prompt registry, the OpenAI-compatible gateway and traces. */
export * from "./guardrails/index.js";
export * from "./prompts/index.js";
export * from "./gateway/index.js";
export * from "./traces/index.js";
export * from "./eval/index.js";
export * from "./monitor/index.js";
