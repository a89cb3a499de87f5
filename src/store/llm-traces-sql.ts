import { randomUUID } from "node:crypto";
import { sql, type RawBuilder } from "kysely";
import { InvalidParameterError, NotFoundError } from "../errors.js";
import type { Clock } from "../runtime/index.js";
import { specError } from "../spec-fields.js";
import type { LlmSpan, SpanWindowQuery, TraceFeedback, TraceQuery, TraceStore, TraceSummary } from "./llm-traces.js";
import type { MetadataDb } from "./metadata-db.js";
import type { LlmSpansTable, LlmTraceFeedbackTable } from "./schema.js";

/** 21 columns a row: 40 rows stay under SQLite's 999 bind parameters… and PostgreSQL's limit. */
const ROWS_PER_INSERT = 40;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

const us = (ms: number) => Math.round(ms * 1000);
const ms = (v: number | string | bigint) => Number(v) / 1000;
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function checkSpan(s: LlmSpan, i: number): void {
  if (!HEX32.test(s.traceId)) throw specError(`spans[${i}].traceId`, s.traceId, "must be 32 lowercase hex digits");
  if (!HEX16.test(s.spanId)) throw specError(`spans[${i}].spanId`, s.spanId, "must be 16 lowercase hex digits");
  if (!Number.isFinite(s.startTime) || !Number.isFinite(s.endTime) || s.endTime < s.startTime) {
    throw specError(`spans[${i}].endTime`, s.endTime, "start and end must be epoch milliseconds, end ≥ start");
  }
}

function toRow(s: LlmSpan): LlmSpansTable {
  return {
    trace_id: s.traceId,
    span_id: s.spanId,
    parent_span_id: s.parentSpanId ?? null,
    name: s.name,
    service_name: s.serviceName ?? null,
    start_time_us: us(s.startTime),
    end_time_us: us(s.endTime),
    status: s.status,
    operation: s.operation ?? null,
    request_model: s.requestModel ?? null,
    response_model: s.responseModel ?? null,
    input_tokens: s.inputTokens ?? null,
    output_tokens: s.outputTokens ?? null,
    cost: s.cost ?? null,
    route: s.route ?? null,
    prompt_name: s.promptName ?? null,
    prompt_version: s.promptVersion ?? null,
    user_id: s.userId ?? null,
    // Between commas, so `like '%,name,%'` finds one check exactly.
    guardrails: s.guardrails.length === 0 ? null : `,${s.guardrails.join(",")},`,
    attributes: JSON.stringify(s.attributes),
  };
}

function toSpan(r: LlmSpansTable): LlmSpan {
  const num = (v: number | string | bigint | null) => (v === null ? undefined : Number(v));
  const span: Record<string, unknown> = {
    traceId: r.trace_id,
    spanId: r.span_id,
    parentSpanId: opt(r.parent_span_id),
    name: r.name,
    serviceName: opt(r.service_name),
    startTime: ms(r.start_time_us),
    endTime: ms(r.end_time_us),
    status: r.status,
    operation: opt(r.operation),
    requestModel: opt(r.request_model),
    responseModel: opt(r.response_model),
    inputTokens: num(r.input_tokens),
    outputTokens: num(r.output_tokens),
    cost: r.cost === null ? undefined : Number(r.cost),
    route: opt(r.route),
    promptName: opt(r.prompt_name),
    promptVersion: opt(r.prompt_version),
    userId: opt(r.user_id),
    guardrails: r.guardrails === null ? [] : r.guardrails.split(",").filter((g) => g !== ""),
    attributes: JSON.parse(r.attributes) as Record<string, unknown>,
  };
  for (const k of Object.keys(span)) if (span[k] === undefined) delete span[k];
  return span as unknown as LlmSpan;
}

function toFeedback(r: LlmTraceFeedbackTable): TraceFeedback {
  return {
    id: r.id,
    traceId: r.trace_id,
    score: Number(r.score),
    ...(r.comment === null ? {} : { comment: r.comment }),
    userId: r.user_id,
    createdAt: Number(r.created_at),
  };
}

function pageOffset(token: string | undefined): number {
  if (token === undefined || token === "") return 0;
  const n = Number(Buffer.from(token, "base64url").toString("utf8"));
  if (!Number.isSafeInteger(n) || n < 0) throw specError("page_token", token, "is not a token this server issued");
  return n;
}

interface SummaryRow {
  trace_id: string;
  start_us: number | string | bigint;
  end_us: number | string | bigint;
  span_count: number | string | bigint;
  route: string | null;
  prompt_name: string | null;
  prompt_version: string | null;
  user_id: string | null;
  input_tokens: number | string | bigint | null;
  output_tokens: number | string | bigint | null;
  cost: number | string | null;
}

/** Span conditions (the trace has a span that …) and trace conditions (on the aggregates). */
function conditions(q: TraceQuery): { spans: RawBuilder<unknown>[]; traces: RawBuilder<unknown>[] } {
  const spans: RawBuilder<unknown>[] = [];
  const traces: RawBuilder<unknown>[] = [];
  if (q.route !== undefined) spans.push(sql`route = ${q.route}`);
  if (q.promptName !== undefined) spans.push(sql`prompt_name = ${q.promptName}`);
  if (q.promptVersion !== undefined) spans.push(sql`prompt_version = ${q.promptVersion}`);
  if (q.userId !== undefined) spans.push(sql`user_id = ${q.userId}`);
  if (q.guardrail === "*") spans.push(sql`guardrails is not null`);
  else if (q.guardrail !== undefined) spans.push(sql`guardrails like ${`%,${q.guardrail},%`}`);
  if (q.from !== undefined) traces.push(sql`min(start_time_us) >= ${us(q.from)}`);
  if (q.to !== undefined) traces.push(sql`min(start_time_us) < ${us(q.to)}`);
  if (q.minCost !== undefined) traces.push(sql`sum(cost) >= ${q.minCost}`);
  if (q.maxCost !== undefined) traces.push(sql`sum(cost) <= ${q.maxCost}`);
  if (q.minLatencyMs !== undefined) traces.push(sql`max(end_time_us) - min(start_time_us) >= ${us(q.minLatencyMs)}`);
  if (q.maxLatencyMs !== undefined) traces.push(sql`max(end_time_us) - min(start_time_us) <= ${us(q.maxLatencyMs)}`);
  return { spans, traces };
}

function summaryQuery(where: RawBuilder<unknown>, having: RawBuilder<unknown>[], limit: number, offset: number) {
  return sql<SummaryRow>`select trace_id, min(start_time_us) as start_us, max(end_time_us) as end_us,
      count(*) as span_count, max(route) as route, max(prompt_name) as prompt_name,
      max(prompt_version) as prompt_version, max(user_id) as user_id, sum(input_tokens) as input_tokens,
      sum(output_tokens) as output_tokens, sum(cost) as cost
    from llm_spans where ${where} group by trace_id
    ${having.length === 0 ? sql`` : sql`having ${sql.join(having, sql` and `)}`}
    order by min(start_time_us) desc, trace_id limit ${limit} offset ${offset}`;
}

/** Trace store on the metadata database (SQLite or PostgreSQL). */
export function createTraceStore(metadata: MetadataDb, options: { clock?: Clock } = {}): TraceStore {
  const clock = options.clock ?? Date.now;

  async function summaries(rows: readonly SummaryRow[]): Promise<TraceSummary[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.trace_id);
    const details = await metadata.query((db) =>
      db
        .selectFrom("llm_spans")
        .select(["trace_id", "name", "parent_span_id", "guardrails", "start_time_us"])
        .where("trace_id", "in", ids)
        .orderBy("start_time_us")
        .execute(),
    );
    return rows.map((r) => {
      const own = details.filter((d) => d.trace_id === r.trace_id);
      const root = own.find((d) => d.parent_span_id === null) ?? own[0];
      const guardrails = new Set(own.flatMap((d) => (d.guardrails ?? "").split(",").filter((g) => g !== "")));
      const summary: Record<string, unknown> = {
        traceId: r.trace_id,
        name: root?.name ?? "",
        startTime: ms(r.start_us),
        endTime: ms(r.end_us),
        latencyMs: ms(Number(r.end_us) - Number(r.start_us)),
        spanCount: Number(r.span_count),
        route: opt(r.route),
        promptName: opt(r.prompt_name),
        promptVersion: opt(r.prompt_version),
        userId: opt(r.user_id),
        inputTokens: Number(r.input_tokens ?? 0),
        outputTokens: Number(r.output_tokens ?? 0),
        cost: r.cost === null ? undefined : Number(r.cost),
        guardrails: [...guardrails],
      };
      for (const k of Object.keys(summary)) if (summary[k] === undefined) delete summary[k];
      return summary as unknown as TraceSummary;
    });
  }

  return {
    listSpans: (q) => listSpans(metadata, q),

    feedbackOf: (traceIds) => feedbackOf(metadata, traceIds),

    async writeSpans(spans) {
      spans.forEach(checkSpan);
      if (spans.length === 0) return 0;
      const rows = spans.map(toRow);
      await metadata.transaction(async (tx) => {
        for (let i = 0; i < rows.length; i += ROWS_PER_INSERT) {
          const part = rows.slice(i, i + ROWS_PER_INSERT);
          for (const r of part) {
            await tx
              .deleteFrom("llm_spans")
              .where("trace_id", "=", r.trace_id)
              .where("span_id", "=", r.span_id)
              .execute();
          }
          await tx.insertInto("llm_spans").values(part).execute();
        }
      });
      return rows.length;
    },

    async searchTraces(q) {
      const max = q.maxResults ?? 100;
      if (!Number.isInteger(max) || max < 1 || max > 1000)
        throw specError("max_results", q.maxResults, "must be an integer from 1 to 1000");
      const offset = pageOffset(q.pageToken);
      const c = conditions(q);
      const where =
        c.spans.length === 0
          ? sql`1 = 1`
          : sql`trace_id in (select trace_id from llm_spans where ${sql.join(c.spans, sql` and `)})`;
      const rows = (await metadata.query((db) => summaryQuery(where, c.traces, max + 1, offset).execute(db))).rows;
      const items = await summaries(rows.slice(0, max));
      return rows.length > max
        ? { items, nextPageToken: Buffer.from(String(offset + max), "utf8").toString("base64url") }
        : { items };
    },

    async getTrace(traceId) {
      const spans = await metadata.query((db) =>
        db.selectFrom("llm_spans").selectAll().where("trace_id", "=", traceId).orderBy("start_time_us").execute(),
      );
      if (spans.length === 0) throw new NotFoundError(`trace ${JSON.stringify(traceId)} not found`);
      const rows = (await metadata.query((db) => summaryQuery(sql`trace_id = ${traceId}`, [], 1, 0).execute(db))).rows;
      const feedback = await metadata.query((db) =>
        db
          .selectFrom("llm_trace_feedback")
          .selectAll()
          .where("trace_id", "=", traceId)
          .orderBy("created_at")
          .orderBy("id")
          .execute(),
      );
      return {
        summary: (await summaries(rows))[0] as TraceSummary,
        spans: spans.map(toSpan),
        feedback: feedback.map(toFeedback),
      };
    },

    async addFeedback(input) {
      if (typeof input.score !== "number" || !Number.isFinite(input.score))
        throw specError("score", input.score, "must be a finite number");
      if (typeof input.userId !== "string" || input.userId === "")
        throw specError("user", input.userId, "must be a non-empty string");
      const exists = await metadata.query((db) =>
        db.selectFrom("llm_spans").select("span_id").where("trace_id", "=", input.traceId).limit(1).executeTakeFirst(),
      );
      if (exists === undefined) throw new NotFoundError(`trace ${JSON.stringify(input.traceId)} not found`);
      const row: LlmTraceFeedbackTable = {
        id: randomUUID(),
        trace_id: input.traceId,
        score: input.score,
        comment: input.comment ?? null,
        user_id: input.userId,
        created_at: clock(),
      };
      await metadata.query((db) => db.insertInto("llm_trace_feedback").values(row).execute());
      return toFeedback(row);
    },

    async deleteBefore(time) {
      if (!Number.isFinite(time)) throw new InvalidParameterError(`deleteBefore: ${time} is not a time`);
      return metadata.transaction(async (tx) => {
        const old = sql<{
          trace_id: string;
        }>`select trace_id from llm_spans group by trace_id having min(start_time_us) < ${us(time)}`;
        const ids = (await old.execute(tx)).rows.map((r) => r.trace_id);
        let deleted = 0;
        for (let i = 0; i < ids.length; i += 500) {
          const part = ids.slice(i, i + 500);
          await tx.deleteFrom("llm_trace_feedback").where("trace_id", "in", part).execute();
          const res = await tx.deleteFrom("llm_spans").where("trace_id", "in", part).executeTakeFirst();
          deleted += Number(res.numDeletedRows);
        }
        return deleted;
      });
    },

    async routeSpend(route, since) {
      const row = await metadata.query((db) =>
        db
          .selectFrom("llm_spans")
          .select((eb) => eb.fn.sum<number | string | null>("cost").as("spend"))
          .where("route", "=", route)
          .where("start_time_us", ">=", us(since))
          .executeTakeFirst(),
      );
      return Number(row?.spend ?? 0);
    },
  };
}

async function listSpans(metadata: MetadataDb, q: SpanWindowQuery): Promise<{ spans: LlmSpan[]; next?: string }> {
  const limit = q.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
    throw specError("limit", q.limit, "must be an integer from 1 to 10000");
  let after: [number, string, string] | undefined;
  if (q.after !== undefined) {
    const parts = Buffer.from(q.after, "base64url").toString("utf8").split(",");
    if (parts.length !== 3 || !/^-?\d+$/.test(parts[0] ?? "")) throw specError("after", q.after, "is not a page token");
    after = [Number(parts[0]), parts[1] as string, parts[2] as string];
  }
  const rows = await metadata.query((db) => {
    let query = db
      .selectFrom("llm_spans")
      .selectAll()
      .where("start_time_us", ">=", us(q.from))
      .where("start_time_us", "<", us(q.to));
    query = q.route === undefined ? query.where("route", "is not", null) : query.where("route", "=", q.route);
    if (after !== undefined) {
      const [t, trace, span] = after;
      query = query.where((eb) =>
        eb.or([
          eb("start_time_us", ">", t),
          eb.and([eb("start_time_us", "=", t), eb("trace_id", ">", trace)]),
          eb.and([eb("start_time_us", "=", t), eb("trace_id", "=", trace), eb("span_id", ">", span)]),
        ]),
      );
    }
    return query
      .orderBy("start_time_us")
      .orderBy("trace_id")
      .orderBy("span_id")
      .limit(limit + 1)
      .execute();
  });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return rows.length > limit && last !== undefined
    ? {
        spans: page.map(toSpan),
        next: Buffer.from(`${Number(last.start_time_us)},${last.trace_id},${last.span_id}`, "utf8").toString(
          "base64url",
        ),
      }
    : { spans: page.map(toSpan) };
}

async function feedbackOf(metadata: MetadataDb, traceIds: readonly string[]): Promise<TraceFeedback[]> {
  const out: TraceFeedback[] = [];
  for (let i = 0; i < traceIds.length; i += 500) {
    const part = traceIds.slice(i, i + 500);
    const rows = await metadata.query((db) =>
      db.selectFrom("llm_trace_feedback").selectAll().where("trace_id", "in", part).execute(),
    );
    out.push(...rows.map(toFeedback));
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || a.id.localeCompare(b.id));
}
