/** LLM operations: guardrails on model inputs and outputs (a gateway will build on them). */
export * from "./guardrails/index.js";
