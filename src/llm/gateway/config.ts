/**
 * The LLM config file (`keel server --llm-config FILE`, JSON or YAML; docs/llm.md): gateway routes,
 * the price table that gives each span its cost, trace retention and the prompt promotion gates.
 * Refused fields name the field, value and rule (`field = value: rule`).
 */
import { parseGuardrailSet, type GuardrailSetConfig } from "../guardrails/index.js";
import { parseRouteMonitor, type LlmRouteMonitor } from "../monitor/config.js";
import { specError, specNumber, specObject, specString } from "../../spec-fields.js";

export interface UpstreamConfig {
  /** Base URL of an OpenAI-compatible API, e.g. `https://api.openai.com/v1`; `/chat/completions` is appended. */
  readonly url: string;
  readonly apiKey?: string;
  /** Model sent upstream when neither the prompt version nor the request names one. */
  readonly model?: string;
  readonly timeoutMs: number;
}

export interface GatewayRouteConfig {
  readonly name: string;
  readonly upstream: UpstreamConfig;
  /** Tried once the upstream has failed `retries + 1` times (connection errors, 429 and 5xx). */
  readonly fallback?: UpstreamConfig;
  /** The prompt rendered in front of the request's messages: name and alias or version. */
  readonly prompt?: { readonly name: string; readonly ref: string };
  readonly guardrails: { readonly input?: GuardrailSetConfig; readonly output?: GuardrailSetConfig };
  readonly retries: number;
  readonly cache?: { readonly ttlSeconds: number; readonly maxEntries: number };
  readonly rateLimit?: { readonly requestsPerMinute: number };
  /** Spend limit: once the route's cost over the last 24 hours reaches it, requests get 429. */
  readonly budget?: { readonly usdPerDay: number };
  /** Monitor windows over the route's traces, the judge's sample and the review share (docs/llm.md). */
  readonly monitor?: LlmRouteMonitor;
}

/** A guardrail classifier served over HTTP (`classifiers.<name>`; see classifier-endpoint.ts). */
export interface ClassifierEndpointConfig {
  readonly url: string;
  /** The label whose score the check compares with its threshold (e.g. `toxic`); needed when the answer has several. */
  readonly label?: string;
  readonly apiKey?: string;
  readonly timeoutMs: number;
}

/** USD per million tokens. */
export interface ModelPrice {
  readonly inputPer1M: number;
  readonly outputPer1M: number;
}

export interface LlmConfig {
  readonly routes: Readonly<Record<string, GatewayRouteConfig>>;
  /** By model name as spans report it (`gen_ai.response.model`, else `gen_ai.request.model`). */
  readonly prices: Readonly<Record<string, ModelPrice>>;
  /** Traces older than this are deleted; absent: kept. */
  readonly traceRetentionDays?: number;
  /** Gates passed as a version tag (`keel.gate.<gate> = passed`), by alias. */
  readonly promptGates: Readonly<Record<string, string>>;
  /** Gates on an evaluation run's metrics, by alias (docs/llm-evaluation.md). */
  readonly evalGates: Readonly<Record<string, EvalGateConfig>>;
  /** Guardrail classifier endpoints, by the name `classifier` checks give. */
  readonly classifiers?: Readonly<Record<string, ClassifierEndpointConfig>>;
}

/** A metric's bound: the run's value must be at least `min` and at most `max`. */
export interface MetricThreshold {
  readonly min?: number;
  readonly max?: number;
}

/**
 * A promotion gate on evaluation: the newest evaluation of the version (on `dataset` when given)
 * must meet every threshold.
 */
export interface EvalGateConfig {
  readonly gate: string;
  readonly dataset?: string;
  readonly thresholds: Readonly<Record<string, MetricThreshold>>;
}

function evalGate(json: unknown, path: string): EvalGateConfig {
  const o = specObject(json, path, ["gate", "dataset", "thresholds"]);
  const gate = specString(o, "gate", path) ?? "eval";
  const dataset = specString(o, "dataset", path);
  const t = o.thresholds === undefined ? {} : named(o.thresholds, `${path}.thresholds`);
  if (Object.keys(t).length === 0) throw specError(`${path}.thresholds`, o.thresholds, "must name at least one metric");
  const thresholds: Record<string, MetricThreshold> = {};
  for (const [metric, v] of Object.entries(t)) {
    const at = `${path}.thresholds.${metric}`;
    const b = specObject(v, at, ["min", "max"]);
    const min = specNumber(b, "min", at, {});
    const max = specNumber(b, "max", at, {});
    if (min === undefined && max === undefined) throw specError(at, v, "needs min or max");
    if (min !== undefined && max !== undefined && min > max)
      throw specError(`${at}.max`, max, `must be at least min ${min}`);
    thresholds[metric] = { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
  }
  return {
    gate,
    ...(dataset === undefined ? {} : { dataset }),
    thresholds,
  };
}

/** An object whose keys are names (routes, models, aliases). */
function named(json: unknown, path: string): Readonly<Record<string, unknown>> {
  return specObject(json, path, typeof json === "object" && json !== null ? Object.keys(json) : []);
}

const ROUTE_NAME = /^[a-zA-Z0-9_.-]+$/;

/** An HTTP endpoint's URL, key (inline or from the environment) and timeout, from an object already checked for unknown fields. */
function endpoint(
  o: Readonly<Record<string, unknown>>,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
): { url: string; apiKey?: string; timeoutMs: number } {
  const url = specString(o, "url", path);
  if (url === undefined || !/^https?:\/\//.test(url)) throw specError(`${path}.url`, o.url, "must be an http(s) URL");
  const keyEnv = specString(o, "apiKeyEnv", path);
  if (keyEnv !== undefined && o.apiKey !== undefined)
    throw specError(`${path}.apiKey`, "…", "give apiKey or apiKeyEnv, not both");
  let apiKey = specString(o, "apiKey", path);
  if (keyEnv !== undefined) {
    apiKey = env[keyEnv];
    if (apiKey === undefined || apiKey === "")
      throw specError(`${path}.apiKeyEnv`, keyEnv, "names an environment variable that is not set");
  }
  return {
    url: url.replace(/\/+$/, ""),
    ...(apiKey === undefined ? {} : { apiKey }),
    timeoutMs: specNumber(o, "timeoutMs", path, { integer: true, positive: true }) ?? 60_000,
  };
}

function upstream(json: unknown, path: string, env: Readonly<Record<string, string | undefined>>): UpstreamConfig {
  const o = specObject(json, path, ["url", "apiKey", "apiKeyEnv", "model", "timeoutMs"]);
  const model = specString(o, "model", path);
  return { ...endpoint(o, path, env), ...(model === undefined ? {} : { model }) };
}

function classifier(
  json: unknown,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
): ClassifierEndpointConfig {
  const o = specObject(json, path, ["url", "label", "apiKey", "apiKeyEnv", "timeoutMs"]);
  const label = specString(o, "label", path);
  return { ...endpoint(o, path, env), ...(label === undefined ? {} : { label }) };
}

function route(
  name: string,
  json: unknown,
  path: string,
  env: Readonly<Record<string, string | undefined>>,
): GatewayRouteConfig {
  if (!ROUTE_NAME.test(name)) throw specError(path, name, "route names are letters, digits, '_', '.' or '-'");
  const o = specObject(json, path, [
    "upstream",
    "fallback",
    "prompt",
    "guardrails",
    "retries",
    "cache",
    "rateLimit",
    "budget",
    "monitor",
  ]);
  const prompt = specString(o, "prompt", path);
  const at = prompt?.lastIndexOf("@") ?? -1;
  if (prompt !== undefined && (at <= 0 || at === prompt.length - 1)) {
    throw specError(`${path}.prompt`, prompt, "must be NAME@ALIAS or NAME@VERSION");
  }
  const g = o.guardrails === undefined ? {} : specObject(o.guardrails, `${path}.guardrails`, ["input", "output"]);
  const cache = o.cache === undefined ? undefined : specObject(o.cache, `${path}.cache`, ["ttlSeconds", "maxEntries"]);
  const rate =
    o.rateLimit === undefined ? undefined : specObject(o.rateLimit, `${path}.rateLimit`, ["requestsPerMinute"]);
  const budget = o.budget === undefined ? undefined : specObject(o.budget, `${path}.budget`, ["usdPerDay"]);
  const required = <T>(v: T | undefined, field: string): T => {
    if (v === undefined) throw specError(field, undefined, "is required");
    return v;
  };
  return {
    name,
    upstream: upstream(required(o.upstream, `${path}.upstream`), `${path}.upstream`, env),
    ...(o.fallback === undefined ? {} : { fallback: upstream(o.fallback, `${path}.fallback`, env) }),
    ...(prompt === undefined ? {} : { prompt: { name: prompt.slice(0, at), ref: prompt.slice(at + 1) } }),
    guardrails: {
      ...(g.input === undefined ? {} : { input: parseGuardrailSet(g.input, `${path}.guardrails.input`) }),
      ...(g.output === undefined ? {} : { output: parseGuardrailSet(g.output, `${path}.guardrails.output`) }),
    },
    retries: specNumber(o, "retries", path, { integer: true, min: 0, max: 10 }) ?? 1,
    ...(o.monitor === undefined ? {} : { monitor: parseRouteMonitor(name, o.monitor, `${path}.monitor`) }),
    ...(cache === undefined
      ? {}
      : {
          cache: {
            ttlSeconds: specNumber(cache, "ttlSeconds", `${path}.cache`, { positive: true }) ?? 300,
            maxEntries: specNumber(cache, "maxEntries", `${path}.cache`, { integer: true, positive: true }) ?? 1000,
          },
        }),
    ...(rate === undefined
      ? {}
      : {
          rateLimit: {
            requestsPerMinute: required(
              specNumber(rate, "requestsPerMinute", `${path}.rateLimit`, { integer: true, positive: true }),
              `${path}.rateLimit.requestsPerMinute`,
            ),
          },
        }),
    ...(budget === undefined
      ? {}
      : {
          budget: {
            usdPerDay: required(
              specNumber(budget, "usdPerDay", `${path}.budget`, { positive: true }),
              `${path}.budget.usdPerDay`,
            ),
          },
        }),
  };
}

/** Parses the LLM config; `env` resolves the routes' `apiKeyEnv`. */
export function parseLlmConfig(json: unknown, env: Readonly<Record<string, string | undefined>> = {}): LlmConfig {
  const o = specObject(json, "", ["routes", "prices", "traces", "prompts", "classifiers"]);
  const routes: Record<string, GatewayRouteConfig> = {};
  const r = o.routes === undefined ? {} : named(o.routes, "routes");
  for (const [name, v] of Object.entries(r)) routes[name] = route(name, v, `routes.${name}`, env);
  for (const [name, c] of Object.entries(routes)) {
    const judge = c.monitor?.judge?.route;
    if (judge !== undefined && (routes[judge] === undefined || judge === name))
      throw specError(`routes.${name}.monitor.judge.route`, judge, "must name another configured route");
  }
  const prices: Record<string, ModelPrice> = {};
  const p = o.prices === undefined ? {} : named(o.prices, "prices");
  for (const [model, v] of Object.entries(p)) {
    const path = `prices.${model}`;
    const price = specObject(v, path, ["inputPer1M", "outputPer1M"]);
    prices[model] = {
      inputPer1M: specNumber(price, "inputPer1M", path, { min: 0 }) ?? 0,
      outputPer1M: specNumber(price, "outputPer1M", path, { min: 0 }) ?? 0,
    };
  }
  const traces = o.traces === undefined ? {} : specObject(o.traces, "traces", ["retentionDays"]);
  const retention = specNumber(traces, "retentionDays", "traces", { positive: true });
  const prompts = o.prompts === undefined ? {} : specObject(o.prompts, "prompts", ["promotionGates"]);
  const gatesJson = prompts.promotionGates === undefined ? {} : named(prompts.promotionGates, "prompts.promotionGates");
  const promptGates: Record<string, string> = {};
  const evalGates: Record<string, EvalGateConfig> = {};
  for (const [alias, gate] of Object.entries(gatesJson)) {
    if (typeof gate === "object" && gate !== null && !Array.isArray(gate)) {
      evalGates[alias] = evalGate(gate, `prompts.promotionGates.${alias}`);
    } else if (typeof gate !== "string" || gate === "")
      throw specError(`prompts.promotionGates.${alias}`, gate, "must be a gate name or { gate, dataset, thresholds }");
    else promptGates[alias] = gate;
  }
  const classifiers: Record<string, ClassifierEndpointConfig> = {};
  const c = o.classifiers === undefined ? {} : named(o.classifiers, "classifiers");
  for (const [name, v] of Object.entries(c)) classifiers[name] = classifier(v, `classifiers.${name}`, env);
  return {
    routes,
    prices,
    ...(retention === undefined ? {} : { traceRetentionDays: retention }),
    promptGates,
    evalGates,
    ...(Object.keys(classifiers).length === 0 ? {} : { classifiers }),
  };
}

/** Cost in USD of a call, from the price table; undefined when the model has no price. */
export function callCost(
  prices: LlmConfig["prices"],
  model: string | undefined,
  inputTokens: number,
  outputTokens: number,
): number | undefined {
  const price = model === undefined ? undefined : prices[model];
  if (price === undefined) return undefined;
  return (inputTokens * price.inputPer1M + outputTokens * price.outputPer1M) / 1e6;
}
