/**
 * The LLM gateway: OpenAI's `/v1/chat/completions` and `/v1/embeddings` per configured route.
 * A call renders the route's prompt (pinned model and parameters included) in front of the
 * request's messages, checks the input and the output against the route's guardrails, answers
 * from the cache or the upstream (retries, then the fallback), and writes a trace span with the
 * GenAI attributes, token counts and cost. Rate and spend limits answer 429 as OpenAI does.
 */
import { createHash, randomBytes } from "node:crypto";
import { Counter, Registry } from "prom-client";
import { isKeelError } from "../../errors.js";
import type { RegistryStore } from "../../registry/index.js";
import type { Clock, Logger } from "../../runtime/index.js";
import type { SpanStatus, TraceStore } from "../../store/index.js";
import {
  createGuardrailSet,
  type GuardrailResult,
  type GuardrailSet,
  type TextClassifier,
} from "../guardrails/index.js";
import { getPromptVersion, type PromptVersion } from "../prompts/index.js";
import { renderTemplate } from "../prompts/template.js";
import { GENAI, genAiSpan, KEEL_ATTRIBUTES } from "../traces/genai.js";
import type { GatewayRouteConfig, LlmConfig, UpstreamConfig } from "./config.js";
import { RateWindow, ResponseCache } from "./limits.js";
import {
  checkChatRequest,
  contentText,
  GatewayError,
  type ChatMessageWire,
  type ChatRequestWire,
} from "./openai-wire.js";
import { relayStream, type StreamOutcome, type StreamVerdict } from "./stream.js";
import { callUpstream, type FetchLike } from "./upstream.js";
import { endpointClassifier } from "./classifier-endpoint.js";
import {
  completionChoices,
  deliveredChoice,
  recordInput,
  recordOutput,
  replayAsStream,
  streamedCompletion,
  type OutputChoice,
} from "./trace-content.js";

export interface GatewayDeps {
  readonly config: LlmConfig;
  readonly registry: RegistryStore;
  readonly traces: TraceStore;
  readonly fetch?: FetchLike;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly classifiers?: Readonly<Record<string, TextClassifier>>;
}

/** What the HTTP layer sends back: JSON, or server-sent events; `traceId` names the call's trace, when it has one. */
export type GatewayReply = (
  { readonly status: number; readonly json: unknown } | { readonly status: 200; readonly sse: AsyncIterable<string> }
) & { readonly traceId?: string };

export interface GatewayCall {
  readonly route: string;
  readonly body: unknown;
  /** The caller's token name, when auth is on; the request's `user` wins for the trace. */
  readonly principal?: string;
  /**
   * A prompt version to render instead of the route's own (an evaluation runs a candidate version
   * on the route); set by keel's own callers, never read from the request body.
   */
  readonly prompt?: { readonly name: string; readonly ref: string };
}

export interface Gateway {
  chatCompletions(call: GatewayCall): Promise<GatewayReply>;
  embeddings(call: GatewayCall): Promise<GatewayReply>;
  /** Prometheus metrics of the gateway (guardrail triggers, requests). */
  readonly metrics: Registry;
}

interface RouteState {
  readonly config: GatewayRouteConfig;
  readonly input?: GuardrailSet;
  readonly output?: GuardrailSet;
  readonly rate?: RateWindow;
  readonly cache?: ResponseCache<Record<string, unknown>>;
}

/** The trace span of one gateway call, filled in as the call goes. */
interface CallTrace {
  readonly traceId: string;
  readonly spanId: string;
  readonly start: number;
  readonly attributes: Record<string, unknown>;
  readonly triggered: string[];
  /** Output checks that triggered, and the PII types they found before redaction. */
  readonly outputTriggered: string[];
  readonly outputPii: string[];
  /** An output PII check ran on the model's answer (so an empty `outputPii` means none was found). */
  outputPiiChecked: boolean;
  status: SpanStatus;
}

const hex = (bytes: number) => randomBytes(bytes).toString("hex");
const DAY_MS = 86_400_000;

class LlmGateway implements Gateway {
  readonly metrics = new Registry();
  private readonly clock: Clock;
  private readonly fetchFn: FetchLike;
  private readonly triggers: Counter<"route" | "stage" | "check" | "action">;
  private readonly requests: Counter<"route" | "operation" | "outcome">;
  private readonly routes = new Map<string, RouteState>();

  constructor(private readonly deps: GatewayDeps) {
    const clock = (this.clock = this.deps.clock ?? Date.now);
    this.fetchFn = this.deps.fetch ?? ((url, init) => fetch(url, init));
    const metrics = this.metrics;
    this.triggers = new Counter({
      name: "keel_llm_guardrail_triggers_total",
      help: "Guardrail checks that triggered in the LLM gateway, by route, stage (input, output), check and action.",
      labelNames: ["route", "stage", "check", "action"] as const,
      registers: [metrics],
    });
    this.requests = new Counter({
      name: "keel_llm_requests_total",
      help: "LLM gateway requests, by route, operation and outcome (ok, error, blocked, rate_limited, over_budget, cached).",
      labelNames: ["route", "operation", "outcome"] as const,
      registers: [metrics],
    });
    // The config's classifier endpoints, and hooks given in code (which win on a shared name).
    const classifiers: Record<string, TextClassifier> = { ...this.deps.classifiers };
    for (const [name, c] of Object.entries(this.deps.config.classifiers ?? {}))
      classifiers[name] ??= endpointClassifier(name, c, this.fetchFn);
    for (const [name, c] of Object.entries(this.deps.config.routes)) {
      const hooks = { classifiers };
      this.routes.set(name, {
        config: c,
        ...(c.guardrails.input === undefined
          ? {}
          : { input: createGuardrailSet(c.guardrails.input, hooks, `this.routes.${name}.guardrails.input`) }),
        ...(c.guardrails.output === undefined
          ? {}
          : { output: createGuardrailSet(c.guardrails.output, hooks, `this.routes.${name}.guardrails.output`) }),
        ...(c.rateLimit === undefined ? {} : { rate: new RateWindow(c.rateLimit.requestsPerMinute, clock) }),
        ...(c.cache === undefined
          ? {}
          : {
              cache: new ResponseCache<Record<string, unknown>>(c.cache.ttlSeconds * 1000, c.cache.maxEntries, clock),
            }),
      });
    }
  }

  private routeOf(name: string): RouteState {
    const r = this.routes.get(name);
    if (r === undefined) {
      throw new GatewayError(
        404,
        `no LLM route ${JSON.stringify(name)}; configured: ${[...this.routes.keys()].join(", ") || "none"}`,
        "invalid_request_error",
        "route_not_found",
      );
    }
    return r;
  }

  private async admit(r: RouteState, operation: string): Promise<void> {
    if (r.rate !== undefined && !r.rate.tryTake()) {
      this.requests.inc({ route: r.config.name, operation, outcome: "rate_limited" });
      throw new GatewayError(
        429,
        `rate limit of route ${r.config.name} reached: ${r.config.rateLimit?.requestsPerMinute} requests per minute`,
        "requests",
        "rate_limit_exceeded",
      );
    }
    if (r.config.budget !== undefined) {
      const spent = await this.deps.traces.routeSpend(r.config.name, this.clock() - DAY_MS);
      if (spent >= r.config.budget.usdPerDay) {
        this.requests.inc({ route: r.config.name, operation, outcome: "over_budget" });
        throw new GatewayError(
          429,
          `spend limit of route ${r.config.name} reached: ${spent.toFixed(4)} of ${r.config.budget.usdPerDay} USD in the last 24 hours`,
          "insufficient_quota",
          "insufficient_quota",
        );
      }
    }
  }

  /** Runs a guardrail set on `text`, recording triggers on the trace and the metrics. */
  private async guard(
    set: GuardrailSet | undefined,
    text: string,
    stage: "input" | "output",
    r: RouteState,
    t: CallTrace,
  ): Promise<GuardrailResult | undefined> {
    if (set === undefined || text === "") return undefined;
    const result = await set.check(text);
    if (stage === "output" && set.config.checks.some((c) => c.kind === "pii")) t.outputPiiChecked = true;
    for (const c of result.triggered) {
      this.triggers.inc({ route: r.config.name, stage, check: c.name, action: c.action });
      if (!t.triggered.includes(c.name)) t.triggered.push(c.name);
      if (stage === "output" && !t.outputTriggered.includes(c.name)) t.outputTriggered.push(c.name);
      if (stage === "output" && c.kind === "pii")
        t.outputPii.push(...c.reasons.filter((x) => !t.outputPii.includes(x)));
    }
    return result;
  }

  private async finish(t: CallTrace, operation: string): Promise<void> {
    const model = t.attributes[GENAI.requestModel];
    t.attributes[KEEL_ATTRIBUTES.guardrails] = [...t.triggered];
    if (t.outputTriggered.length > 0) t.attributes[KEEL_ATTRIBUTES.outputGuardrails] = [...t.outputTriggered];
    if (t.outputPiiChecked) t.attributes[KEEL_ATTRIBUTES.outputPiiTypes] = [...t.outputPii];
    const span = genAiSpan(
      {
        traceId: t.traceId,
        spanId: t.spanId,
        name: typeof model === "string" ? `${operation} ${model}` : operation,
        serviceName: "keel-gateway",
        startTime: t.start,
        endTime: this.clock(),
        status: t.status,
      },
      t.attributes,
      this.deps.config.prices,
    );
    try {
      await this.deps.traces.writeSpans([span]);
    } catch (e) {
      this.deps.logger?.error({ err: e, traceId: t.traceId }, "writing a gateway trace failed");
    }
  }

  private newTrace(r: RouteState, operation: string, user: string | undefined): CallTrace {
    const attributes: Record<string, unknown> = {
      [GENAI.operation]: operation,
      [KEEL_ATTRIBUTES.route]: r.config.name,
    };
    if (user !== undefined) attributes["user.id"] = user;
    return {
      traceId: hex(16),
      spanId: hex(8),
      start: this.clock(),
      attributes,
      triggered: [],
      outputTriggered: [],
      outputPii: [],
      outputPiiChecked: false,
      status: "unset",
    };
  }

  /** The request's messages after input guardrails (redacted, or refused when a check blocks). */
  private async guardedMessages(req: ChatRequestWire, r: RouteState, t: CallTrace): Promise<ChatMessageWire[]> {
    const out: ChatMessageWire[] = [];
    for (const m of req.messages) {
      const text = contentText(m.content);
      const result = await this.guard(r.input, text, "input", r, t);
      if (result?.decision === "block") {
        const names = result.triggered.filter((c) => c.action === "block").map((c) => c.name);
        throw new GatewayError(
          400,
          `the input was blocked by guardrail ${names.join(", ")}`,
          "invalid_request_error",
          "content_filter",
          "messages",
        );
      }
      out.push(result?.decision === "redact" ? { ...m, content: result.redactedText } : m);
    }
    return out;
  }

  /** The prompt version's messages rendered with the request's `prompt_variables` (input-guarded too). */
  private async promptMessages(
    req: ChatRequestWire,
    r: RouteState,
    t: CallTrace,
    override: GatewayCall["prompt"],
  ): Promise<{ version?: PromptVersion; messages: ChatMessageWire[] }> {
    const ref = override ?? r.config.prompt;
    const raw = req.prompt_variables;
    if (ref === undefined) {
      if (raw !== undefined)
        throw new GatewayError(
          400,
          `route ${r.config.name} has no prompt: prompt_variables are not accepted`,
          "invalid_request_error",
          null,
          "prompt_variables",
        );
      return { messages: [] };
    }
    if (raw !== undefined && (typeof raw !== "object" || raw === null || Array.isArray(raw))) {
      throw new GatewayError(
        400,
        "prompt_variables must be an object",
        "invalid_request_error",
        null,
        "prompt_variables",
      );
    }
    const variables: Record<string, unknown> = { ...(raw as Record<string, unknown> | undefined) };
    for (const [k, v] of Object.entries(variables)) {
      const result = await this.guard(r.input, typeof v === "string" ? v : "", "input", r, t);
      if (result?.decision === "block")
        throw new GatewayError(
          400,
          `prompt variable ${k} was blocked by a guardrail`,
          "invalid_request_error",
          "content_filter",
          "prompt_variables",
        );
      if (result?.decision === "redact") variables[k] = result.redactedText;
    }
    const version = await getPromptVersion(this.deps.registry, ref.name, ref.ref);
    t.attributes[KEEL_ATTRIBUTES.promptName] = version.name;
    t.attributes[KEEL_ATTRIBUTES.promptVersion] = version.version;
    const rendered = renderTemplate(version.template, variables);
    const messages =
      typeof rendered === "string" ? [{ role: "system", content: rendered }] : rendered.map((m) => ({ ...m }));
    return { version, messages };
  }

  /** Output guardrails on a non-streamed completion: redacted in place, or emptied with `content_filter`. */
  private async guardCompletion(json: Record<string, unknown>, r: RouteState, t: CallTrace): Promise<void> {
    const choices = Array.isArray(json.choices) ? (json.choices as Record<string, unknown>[]) : [];
    for (const choice of choices) {
      const message = choice.message as ChatMessageWire | undefined;
      if (message === undefined || typeof message.content !== "string") continue;
      const result = await this.guard(r.output, message.content, "output", r, t);
      if (result?.decision === "block") {
        choice.message = { ...message, content: "" };
        choice.finish_reason = "content_filter";
      } else if (result?.decision === "redact") choice.message = { ...message, content: result.redactedText };
    }
  }

  private usage(t: CallTrace, json: Record<string, unknown>): void {
    const u = json.usage as Record<string, unknown> | undefined;
    if (typeof u?.prompt_tokens === "number") t.attributes[GENAI.inputTokens] = u.prompt_tokens;
    if (typeof u?.completion_tokens === "number") t.attributes[GENAI.outputTokens] = u.completion_tokens;
    if (typeof json.model === "string") t.attributes[GENAI.responseModel] = json.model;
  }

  private async chat(r: RouteState, call: GatewayCall, t: CallTrace): Promise<GatewayReply> {
    const req = checkChatRequest(call.body);
    if (req.user !== undefined) t.attributes["user.id"] = req.user;
    const messages = await this.guardedMessages(req, r, t);
    const prompt = await this.promptMessages(req, r, t, call.prompt);
    const { prompt_variables: _, ...rest } = req;
    const upstreamBody: Record<string, unknown> = { ...rest, messages: [...prompt.messages, ...messages] };
    // The prompt version pins the model and its parameters: they win over the request's.
    if (prompt.version?.model !== undefined) upstreamBody.model = prompt.version.model;
    Object.assign(upstreamBody, prompt.version?.parameters ?? {});
    if (upstreamBody.model === undefined && r.config.upstream.model !== undefined)
      upstreamBody.model = r.config.upstream.model;
    if (typeof upstreamBody.model === "string") t.attributes[GENAI.requestModel] = upstreamBody.model;
    recordInput(t.attributes, upstreamBody.messages as ChatMessageWire[]);
    const upstreams = upstreamsOf(r);
    // Streamed and non-streamed calls share the cache: the key leaves out how the answer is delivered.
    const key = r.cache === undefined ? undefined : cacheKey(r.config.name, prompt.version, upstreamBody);
    const cached = key === undefined ? undefined : r.cache?.get(key);
    if (cached !== undefined) {
      t.attributes[KEEL_ATTRIBUTES.cacheHit] = true;
      recordOutput(t.attributes, completionChoices(cached));
      this.usage(t, cached);
      t.status = "ok";
      this.requests.inc({ route: r.config.name, operation: "chat", outcome: "cached" });
      await this.finish(t, "chat");
      return req.stream === true
        ? { status: 200, sse: replayAsStream(cached, req.stream_options?.include_usage === true) }
        : { status: 200, json: cached };
    }

    if (req.stream === true) {
      const wantsUsage = req.stream_options?.include_usage === true;
      upstreamBody.stream_options = { ...req.stream_options, include_usage: true };
      const reply = await callUpstream(this.fetchFn, upstreams, r.config.retries, "/chat/completions", upstreamBody);
      if (!reply.response.ok || reply.response.body === null) return this.passError(reply.response, t);
      const canChange = r.config.guardrails.output?.checks.some((c) => c.action !== "flag") === true;
      const onEnd = async (outcome: StreamOutcome): Promise<StreamVerdict> => {
        this.usage(t, { usage: outcome.usage });
        const choices = [];
        const delivered: OutputChoice[] = [];
        for (const [i, content] of outcome.contents.entries()) {
          const result = await this.guard(r.output, content, "output", r, t);
          choices.push(result === undefined ? undefined : { decision: result.decision, redacted: result.redactedText });
          delivered.push(deliveredChoice(content, outcome.finishReasons[i] ?? null, result, canChange));
        }
        recordOutput(t.attributes, delivered);
        if (key !== undefined) r.cache?.set(key, streamedCompletion(outcome, delivered));
        t.status = "ok";
        this.requests.inc({ route: r.config.name, operation: "chat", outcome: "ok" });
        await this.finish(t, "chat");
        return { choices };
      };
      const onError = async (e: unknown): Promise<void> => {
        t.status = "error";
        t.attributes["error.type"] = e instanceof Error ? e.name : "stream";
        this.requests.inc({ route: r.config.name, operation: "chat", outcome: "error" });
        await this.finish(t, "chat");
      };
      return {
        status: 200,
        sse: relayStream(reply.response.body, { buffer: canChange, includeUsage: wantsUsage, onEnd, onError }),
      };
    }

    const reply = await callUpstream(this.fetchFn, upstreams, r.config.retries, "/chat/completions", upstreamBody);
    if (!reply.response.ok) return this.passError(reply.response, t);
    const json = (await reply.response.json()) as Record<string, unknown>;
    this.usage(t, json);
    await this.guardCompletion(json, r, t);
    recordOutput(t.attributes, completionChoices(json));
    if (key !== undefined) r.cache?.set(key, json);
    t.status = "ok";
    await this.finish(t, "chat");
    return { status: 200, json };
  }

  private async passError(response: Response, t: CallTrace): Promise<GatewayReply> {
    t.status = "error";
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = new GatewayError(response.status, text || `upstream answered HTTP ${response.status}`, "api_error").body();
    }
    return { status: response.status, json };
  }

  private async handle(
    call: GatewayCall,
    operation: string,
    run: (r: RouteState, t: CallTrace) => Promise<GatewayReply>,
  ): Promise<GatewayReply> {
    let r: RouteState | undefined;
    let t: CallTrace | undefined;
    try {
      r = this.routeOf(call.route);
      await this.admit(r, operation);
      t = this.newTrace(r, operation, call.principal);
      const reply = await run(r, t);
      if (!("sse" in reply))
        this.requests.inc({ route: r.config.name, operation, outcome: reply.status < 400 ? "ok" : "error" });
      if (t.status === "error") await this.finish(t, operation);
      return { ...reply, traceId: t.traceId };
    } catch (e) {
      const err = asGatewayError(e);
      if (r !== undefined && t !== undefined) {
        this.requests.inc({
          route: r.config.name,
          operation,
          outcome: err.code === "content_filter" ? "blocked" : "error",
        });
        t.status = "error";
        t.attributes["error.type"] = err.code ?? err.type;
        await this.finish(t, operation);
      }
      return { status: err.status, json: err.body(), ...(t === undefined ? {} : { traceId: t.traceId }) };
    }
  }

  chatCompletions(call: GatewayCall): Promise<GatewayReply> {
    return this.handle(call, "chat", (r, t) => this.chat(r, call, t));
  }

  embeddings(call: GatewayCall): Promise<GatewayReply> {
    return this.handle(call, "embeddings", (r, t) => this.embed(r, call, t));
  }

  private async embed(r: RouteState, call: GatewayCall, t: CallTrace): Promise<GatewayReply> {
    const body = call.body as Record<string, unknown>;
    if (typeof body !== "object" || body === null || body.input === undefined) {
      throw new GatewayError(400, "input is required", "invalid_request_error", null, "input");
    }
    if (typeof body.model === "string") t.attributes[GENAI.requestModel] = body.model;
    const reply = await callUpstream(this.fetchFn, upstreamsOf(r), r.config.retries, "/embeddings", body);
    if (!reply.response.ok) return this.passError(reply.response, t);
    const json = (await reply.response.json()) as Record<string, unknown>;
    this.usage(t, json);
    t.status = "ok";
    await this.finish(t, "embeddings");
    return { status: 200, json };
  }
}

/** The gateway over the configured routes (see the module comment). */
export function createGateway(deps: GatewayDeps): Gateway {
  return new LlmGateway(deps);
}

function upstreamsOf(r: RouteState): UpstreamConfig[] {
  return r.config.fallback === undefined ? [r.config.upstream] : [r.config.upstream, r.config.fallback];
}

function cacheKey(route: string, version: PromptVersion | undefined, body: Readonly<Record<string, unknown>>): string {
  const { user: _, stream: _s, stream_options: _o, ...input } = body;
  const prompt = version === undefined ? null : `${version.name}@${version.version}`;
  return createHash("sha256")
    .update(JSON.stringify([route, prompt, input]))
    .digest("hex");
}

function asGatewayError(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  if (isKeelError(e)) {
    const type = e.status === 404 ? "not_found_error" : e.status < 500 ? "invalid_request_error" : "api_error";
    return new GatewayError(e.status, e.message, type, e.code.toLowerCase());
  }
  return new GatewayError(500, e instanceof Error ? e.message : String(e), "api_error");
}
