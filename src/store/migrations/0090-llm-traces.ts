import type { Kysely } from "kysely";
import type { Migration } from "./migration.js";

/**
 * LLM traces: spans as OpenTelemetry exports them (OTLP) or the gateway writes them, with the
 * GenAI attributes keel searches on lifted into columns; feedback attached to a trace.
 */
export const m0090LlmTraces: Migration = {
  id: "0090",
  name: "llm-traces",
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("llm_spans")
      .addColumn("trace_id", "varchar(32)", (c) => c.notNull())
      .addColumn("span_id", "varchar(16)", (c) => c.notNull())
      .addColumn("parent_span_id", "varchar(16)")
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("service_name", "varchar(255)")
      .addColumn("start_time_us", "bigint", (c) => c.notNull())
      .addColumn("end_time_us", "bigint", (c) => c.notNull())
      .addColumn("status", "varchar(16)", (c) => c.notNull())
      .addColumn("operation", "varchar(64)")
      .addColumn("request_model", "varchar(255)")
      .addColumn("response_model", "varchar(255)")
      .addColumn("input_tokens", "bigint")
      .addColumn("output_tokens", "bigint")
      .addColumn("cost", "double precision")
      .addColumn("route", "varchar(255)")
      .addColumn("prompt_name", "varchar(255)")
      .addColumn("prompt_version", "varchar(64)")
      .addColumn("user_id", "varchar(255)")
      .addColumn("guardrails", "text")
      .addColumn("attributes", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("llm_spans_pk", ["trace_id", "span_id"])
      .execute();
    await db.schema.createIndex("llm_spans_start").on("llm_spans").column("start_time_us").execute();
    await db.schema.createIndex("llm_spans_route").on("llm_spans").columns(["route", "start_time_us"]).execute();
    await db.schema
      .createTable("llm_trace_feedback")
      .addColumn("id", "varchar(64)", (c) => c.primaryKey())
      .addColumn("trace_id", "varchar(32)", (c) => c.notNull())
      .addColumn("score", "double precision", (c) => c.notNull())
      .addColumn("comment", "text")
      .addColumn("user_id", "varchar(255)", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .execute();
    await db.schema.createIndex("llm_trace_feedback_trace").on("llm_trace_feedback").column("trace_id").execute();
  },
};
