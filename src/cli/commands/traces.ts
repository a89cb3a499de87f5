import type { Command } from "commander";
import { KeelLlmClient } from "../../client/index.js";
import type { TraceDetailJson, TraceSearchRequest, TraceSummaryJson } from "../../client/index.js";
import { traceDetailJson, traceQuery, traceSummaryJson } from "../../server/index.js";
import { parseTime } from "../../store/index.js";
import { specError } from "../../spec-fields.js";
import { configFor, group, positiveInt, print, serverClient, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

interface SearchFlags {
  route?: string;
  prompt?: string;
  promptVersion?: string;
  user?: string;
  from?: string;
  to?: string;
  minCost?: string;
  maxCost?: string;
  minLatencyMs?: string;
  maxLatencyMs?: string;
  guardrail?: string;
  limit?: number;
  pageToken?: string;
}

function nonNegative(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n) || n < 0) throw specError(flag, v, "must be a number ≥ 0");
  return n;
}

/** The flags as the HTTP search's parameters (one search, whether it runs on the server or the local store). */
function searchRequest(f: SearchFlags): TraceSearchRequest {
  return {
    route: f.route,
    prompt: f.prompt,
    prompt_version: f.promptVersion,
    user: f.user,
    from: f.from === undefined ? undefined : parseTime(f.from, "--from"),
    to: f.to === undefined ? undefined : parseTime(f.to, "--to"),
    min_cost: nonNegative("--min-cost", f.minCost),
    max_cost: nonNegative("--max-cost", f.maxCost),
    min_latency_ms: nonNegative("--min-latency-ms", f.minLatencyMs),
    max_latency_ms: nonNegative("--max-latency-ms", f.maxLatencyMs),
    guardrail: f.guardrail,
    max_results: f.limit,
    page_token: f.pageToken,
  };
}

const cost = (c: number | null | undefined) => (c === null || c === undefined ? "" : c.toFixed(6));

function tracesTable(traces: readonly TraceSummaryJson[]): string {
  return table(
    ["TRACE", "START", "ROUTE", "PROMPT", "USER", "TOKENS IN/OUT", "COST USD", "LATENCY MS", "GUARDRAILS"],
    traces.map((t) => [
      t.trace_id,
      new Date(t.start_time).toISOString(),
      t.route ?? "",
      t.prompt_name === null ? "" : `${t.prompt_name}@${t.prompt_version ?? ""}`,
      t.user ?? "",
      `${t.input_tokens}/${t.output_tokens}`,
      cost(t.cost),
      t.latency_ms.toFixed(1),
      t.guardrails.join(","),
    ]),
  );
}

/** The text parts of a GenAI messages attribute (`gen_ai.input.messages` / `gen_ai.output.messages`). */
function messageLines(label: string, v: unknown): string[] {
  if (typeof v !== "string") return [];
  try {
    const messages = JSON.parse(v) as { role?: string; parts?: { content?: unknown }[] }[];
    return messages.map(
      (m) =>
        `  ${label} [${m.role ?? "?"}] ${(m.parts ?? []).map((p) => (typeof p.content === "string" ? p.content : JSON.stringify(p.content))).join(" ")}`,
    );
  } catch {
    return [`  ${label} ${v}`];
  }
}

function describeTrace(d: TraceDetailJson): string {
  const s = d.trace;
  const lines = [
    `trace ${s.trace_id}: ${s.name}, ${new Date(s.start_time).toISOString()}, ${s.latency_ms.toFixed(1)} ms`,
    `  route ${s.route ?? "-"}, prompt ${s.prompt_name === null ? "-" : `${s.prompt_name}@${s.prompt_version ?? ""}`}, user ${s.user ?? "-"}`,
    `  tokens ${s.input_tokens} in / ${s.output_tokens} out, cost ${cost(s.cost) || "-"} USD, guardrails ${s.guardrails.join(", ") || "none"}`,
  ];
  for (const span of d.spans) {
    lines.push(`  span ${span.span_id} ${span.name} (${span.status})`);
    lines.push(...messageLines("in ", span.attributes["gen_ai.input.messages"]));
    lines.push(...messageLines("out", span.attributes["gen_ai.output.messages"]));
  }
  for (const f of d.feedback)
    lines.push(`  feedback ${f.score} by ${f.user}${f.comment === undefined ? "" : `: ${f.comment}`}`);
  return lines.join("\n");
}

/** `keel traces search|show` (docs/llm.md): on the server at the tracking URI, else on the local store. */
export function tracesCommand(program: Command, ctx: CliContext): void {
  const traces = group(program, "traces", "LLM traces: search them, show one");
  traces
    .command("search")
    .description("traces, newest first, by route, prompt version, user, time, cost, latency or guardrail trigger")
    .option("--route <name>", "gateway route")
    .option("--prompt <name>", "prompt name")
    .option("--prompt-version <v>", "prompt version")
    .option("--user <id>", "user id")
    .option("--from <time>", "started at or after (ISO 8601 or epoch ms)")
    .option("--to <time>", "started before (ISO 8601 or epoch ms)")
    .option("--min-cost <usd>", "cost at least")
    .option("--max-cost <usd>", "cost at most")
    .option("--min-latency-ms <ms>", "latency at least")
    .option("--max-latency-ms <ms>", "latency at most")
    .option("--guardrail <check>", "a guardrail check that triggered, or * for any")
    .option("--limit <n>", "page size (at most 1000; default 100)", positiveInt("--limit"))
    .option("--page-token <token>", "the next page of a previous search")
    .action(async (flags: SearchFlags, cmd: Command) => {
      const request = searchRequest(flags);
      const config = configFor(cmd, ctx);
      const client = serverClient(config);
      const page =
        client !== undefined
          ? await new KeelLlmClient(client).searchTraces(request)
          : await withStores(config, async (stores) => {
              const p = await stores.traces.searchTraces(traceQuery(request));
              return {
                traces: p.items.map(traceSummaryJson),
                ...(p.nextPageToken === undefined ? {} : { next_page_token: p.nextPageToken }),
              };
            });
      print(cmd, ctx, page, () =>
        [
          tracesTable(page.traces),
          ...(page.next_page_token === undefined ? [] : [`next page: --page-token ${page.next_page_token}`]),
        ].join("\n"),
      );
    });
  traces
    .command("show <trace-id>")
    .description("one trace: its spans, what was asked and answered, and its feedback")
    .action(async (traceId: string, _: unknown, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const client = serverClient(config);
      const detail =
        client !== undefined
          ? await new KeelLlmClient(client).getTrace(traceId)
          : await withStores(config, async (stores) => traceDetailJson(await stores.traces.getTrace(traceId)));
      print(cmd, ctx, detail, () => describeTrace(detail));
    });
}
