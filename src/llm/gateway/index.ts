export { callCost, parseLlmConfig } from "./config.js";
export type {
  EvalGateConfig,
  GatewayRouteConfig,
  LlmConfig,
  MetricThreshold,
  ModelPrice,
  UpstreamConfig,
} from "./config.js";
export { createGateway } from "./gateway.js";
export type { Gateway, GatewayCall, GatewayDeps, GatewayReply } from "./gateway.js";
export { GatewayError } from "./openai-wire.js";
export type { OpenAiErrorBody } from "./openai-wire.js";
