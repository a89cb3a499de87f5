import path from "node:path";
import type { Command } from "commander";
import type { KeelConfig } from "../../config.js";
import { DataIntegrityError, NotFoundError } from "../../errors.js";
import { artifactFetcher } from "../../registry/index.js";
import type { ReplayResult } from "../../serving/index.js";
import { decisionJson, decisionQuery, parseTime, verifyDecisionChain, type DecisionStore } from "../../store/index.js";
import { specError } from "../../spec-fields.js";
import type { DecisionJson, DecisionPageJson, DecisionQueryJson, DecisionReplayJson } from "../../wire/index.js";
import { configFor, group, isoTime, positiveInt, print, printPage, serverClient, table } from "../context.js";
import type { CliContext } from "../context.js";
import { exportFormat, writeDecisions } from "../decisions-export.js";
import { chainSealing, withStores, type Stores } from "../stores.js";

const LOCAL_ACTOR = "cli";
const PAGE = 1000;

/** The reads `show`, `search` and `export` need, from the server (`--tracking-uri`) or the local store. */
interface DecisionReader {
  get(requestId: string): Promise<DecisionJson[]>;
  page(query: DecisionQueryJson): Promise<DecisionPageJson>;
}

function localReader(store: DecisionStore): DecisionReader {
  return {
    async get(requestId) {
      const records = await store.get(requestId);
      if (records.length === 0) throw new NotFoundError(`decision ${JSON.stringify(requestId)} is not recorded`);
      return records.map(decisionJson);
    },
    async page(q) {
      const query = decisionQuery(q);
      const records = await store.search(query);
      const last = records[records.length - 1];
      return {
        decisions: records.map(decisionJson),
        ...(last !== undefined && records.length === query.limit ? { next_page_token: String(last.seq) } : {}),
      };
    },
  };
}

function withReader<T>(config: KeelConfig, fn: (reader: DecisionReader) => Promise<T>): Promise<T> {
  const client = serverClient(config);
  if (client !== undefined) {
    return fn({ get: (id) => client.getDecision(id), page: (q) => client.searchDecisions(q) });
  }
  return withStores(config, (s) => fn(localReader(s.decisions)));
}

interface WindowFlags {
  from?: string;
  to?: string;
  endpoint?: string;
  model?: string;
  modelVersion?: string;
  decision?: string;
  reviewed?: boolean;
  notReviewed?: boolean;
}

function reviewedOf(flags: WindowFlags): { reviewed?: boolean } {
  if (flags.reviewed === true && flags.notReviewed === true)
    throw specError("--not-reviewed", true, "cannot be given with --reviewed");
  if (flags.reviewed === true) return { reviewed: true };
  return flags.notReviewed === true ? { reviewed: false } : {};
}

function queryOf(flags: WindowFlags): DecisionQueryJson {
  return {
    ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
    ...(flags.model !== undefined ? { model: flags.model } : {}),
    ...(flags.modelVersion !== undefined ? { model_version: flags.modelVersion } : {}),
    ...(flags.decision !== undefined ? { decision: flags.decision } : {}),
    ...reviewedOf(flags),
    ...(flags.from !== undefined ? { from: parseTime(flags.from, "--from") } : {}),
    ...(flags.to !== undefined ? { to: parseTime(flags.to, "--to") } : {}),
  };
}

function windowOptions(c: Command): Command {
  return c
    .option("--from <time>", "first time included (epoch ms or ISO 8601)")
    .option("--to <time>", "end of the window, excluded (epoch ms or ISO 8601)")
    .option("--endpoint <name>", "only this endpoint")
    .option("--model <name>", "only this model")
    .option("--model-version <version>", "only this model version")
    .option("--decision <label>", "only this decision (e.g. decline)")
    .option("--reviewed", "only decisions a reviewer decided")
    .option("--not-reviewed", "only decisions without a verdict (never queued, pending or claimed)");
}

/** Every page of a search, in chain order. */
async function allDecisions(reader: DecisionReader, q: DecisionQueryJson): Promise<DecisionJson[]> {
  const out: DecisionJson[] = [];
  let token: string | undefined;
  do {
    const page = await reader.page({ ...q, max_results: PAGE, ...(token !== undefined ? { page_token: token } : {}) });
    for (const d of page.decisions) out.push(d);
    token = page.next_page_token;
  } while (token !== undefined);
  return out;
}

function showText(d: DecisionJson): string {
  const lines = [
    `decision ${d.request_id}  (record ${d.seq})`,
    `  time        ${isoTime(d.time)}`,
    `  caller      ${d.caller ?? ""}`,
    `  endpoint    ${d.endpoint}  route ${d.route}${d.fallback !== null ? ` (fallback: ${d.fallback})` : ""}`,
    `  model       ${d.model_name} version ${d.model_version}  artifact sha256 ${d.artifact_sha256 ?? "(none)"}`,
    `  score       ${d.score ?? ""}  threshold ${d.threshold ?? ""}  decision ${d.decision ?? ""}`,
    `  inputs      ${JSON.stringify(d.inputs)}`,
    `  scored as   ${JSON.stringify(d.scored_inputs)}`,
  ];
  if (d.reasons !== null) {
    lines.push("  reasons");
    for (const r of d.reasons) lines.push(`    ${r.feature} = ${JSON.stringify(r.value)}: ${r.contribution}`);
  }
  const rv = d.review;
  if (rv !== null) {
    const verdict =
      rv.verdict === null
        ? `${rv.status}${rv.claimed_by !== null ? ` by ${rv.claimed_by}` : ""}, interim decision ${rv.interim_decision}`
        : `${rv.verdict} by ${rv.decided_by ?? ""} at ${rv.decided_at ?? ""}${rv.overridden === true ? " (overrides the model)" : ""}: ${rv.verdict_reason ?? ""}`;
    lines.push(`  review      ${verdict}`);
  }
  lines.push(`  hash        ${d.hash}`);
  return lines.join("\n");
}

function replayJson(r: ReplayResult): DecisionReplayJson {
  return {
    request_id: r.requestId,
    recorded_score: r.recordedScore,
    replayed_score: r.replayedScore,
    match: r.match,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

/**
 * Re-scores one request's records, or every decision of a window page by page, with their recorded
 * artifacts (read from the local registry and artifact store).
 */
async function replay(s: Stores, id: string | undefined, q: DecisionQueryJson): Promise<DecisionReplayJson[]> {
  // Scoring code is loaded only by the command that scores.
  const { DecisionReplayer } = await import("../../serving/index.js");
  const replayer = new DecisionReplayer({
    getModelVersion: (name, version) => s.registry.getModelVersion(name, version),
    fetchArtifact: artifactFetcher({
      artifacts: s.artifacts,
      runArtifactUri: async (runId) => (await s.tracking.getRun(runId)).info.artifactUri,
    }),
  });
  try {
    if (id !== undefined) {
      const records = await s.decisions.get(id);
      if (records.length === 0) await localReader(s.decisions).get(id);
      return (await replayer.replay(records)).map(replayJson);
    }
    const out: DecisionReplayJson[] = [];
    const query = decisionQuery({ ...q, max_results: PAGE });
    for (let afterSeq: number | undefined; ;) {
      const page = await s.decisions.search({ ...query, afterSeq });
      for (const r of await replayer.replay(page)) out.push(replayJson(r));
      if (page.length < PAGE) return out;
      afterSeq = page[page.length - 1]?.seq;
    }
  } finally {
    await replayer.close();
  }
}

function parseDays(value: string): number {
  const m = /^(\d+)d?$/.exec(value);
  const days = m === null ? NaN : Number(m[1]);
  if (!Number.isSafeInteger(days) || days < 1)
    throw specError("--older-than", value, "must be a number of days, e.g. 400d");
  return days;
}

/** `keel decisions verify|show|search|export|replay|retention|hold|release` (docs/decisions.md). */
export function decisionsCommand(program: Command, ctx: CliContext): void {
  const decisions = group(program, "decisions", "recorded decisions: verify, show, search, export, replay, retention");

  decisions
    .command("verify")
    .description("recompute every decision record's hash and link; name the first broken record")
    .action(async (_flags: object, cmd: Command) => {
      const config = configFor(cmd, ctx);
      const result = await withStores(config, (s) => verifyDecisionChain(chainSealing(s, config)));
      if (result.ok) {
        const pruned = result.pruned > 0 ? ` (${result.pruned} removed by retention)` : "";
        print(cmd, ctx, result, () => `decision records intact: ${result.records} verified${pruned}`);
        return;
      }
      print(cmd, ctx, result, () => `decision records BROKEN at record ${result.brokenAt}: ${result.reason}`);
      throw new DataIntegrityError(
        `decision records broken at record ${result.brokenAt} (${result.records} verified before it): ${result.reason}`,
      );
    });

  decisions
    .command("show <id>")
    .description("one request's decision records (ID#0, ID#1, … for a multi-row request)")
    .action(async (id: string, _flags: object, cmd: Command) => {
      const found = await withReader(configFor(cmd, ctx), (r) => r.get(id));
      print(cmd, ctx, found.length === 1 ? found[0] : found, () => found.map(showText).join("\n\n"));
    });

  windowOptions(decisions.command("search"))
    .description("decisions matching every filter, in the order they were recorded")
    .option("--max-results <n>", "page size (default 100)", positiveInt("--max-results"))
    .option("--page-token <token>", "continue from a previous page")
    .action(async (flags: WindowFlags & { maxResults?: number; pageToken?: string }, cmd: Command) => {
      const q: DecisionQueryJson = {
        ...queryOf(flags),
        ...(flags.maxResults !== undefined ? { max_results: flags.maxResults } : {}),
        ...(flags.pageToken !== undefined ? { page_token: flags.pageToken } : {}),
      };
      const page = await withReader(configFor(cmd, ctx), (r) => r.page(q));
      printPage(cmd, ctx, page, () =>
        table(
          ["REQUEST ID", "TIME", "ENDPOINT", "VERSION", "ROUTE", "SCORE", "DECISION", "CALLER", "REVIEW"],
          page.decisions.map((d) => [
            d.request_id,
            isoTime(d.time),
            d.endpoint,
            d.model_version,
            d.route,
            String(d.score ?? ""),
            d.decision ?? "",
            d.caller ?? "",
            d.review === null ? "" : (d.review.verdict ?? d.review.status),
          ]),
        ),
      );
    });

  windowOptions(decisions.command("export"))
    .description("write the decisions of a window to a JSONL, CSV or Parquet file for review")
    .requiredOption("--output <file>", "file.jsonl | file.csv | file.parquet")
    .action(async (flags: WindowFlags & { output: string }, cmd: Command) => {
      const file = path.resolve(ctx.cwd, flags.output);
      exportFormat(file);
      const all = await withReader(configFor(cmd, ctx), (r) => allDecisions(r, queryOf(flags)));
      await writeDecisions(all, file);
      print(cmd, ctx, { exported: all.length, output: file }, () => `exported ${all.length} decisions to ${file}`);
    });

  windowOptions(decisions.command("replay [id]"))
    .description("re-score recorded decisions with their recorded artifacts; report which match bit for bit")
    .action(async (id: string | undefined, flags: WindowFlags, cmd: Command) => {
      const windowed = flags.from !== undefined || flags.to !== undefined;
      if ((id === undefined) === !windowed)
        throw specError("ID", id ?? null, "give a request id, or a window with --from/--to");
      const results = await withStores(configFor(cmd, ctx), (s) => replay(s, id, queryOf(flags)));
      const matched = results.filter((r) => r.match).length;
      if (id !== undefined) {
        print(cmd, ctx, results.length === 1 ? results[0] : results, () =>
          results
            .map(
              (r) =>
                `${r.request_id}: recorded ${r.recorded_score} replayed ${r.replayed_score} ${r.match ? "MATCH" : `DIFFERS${r.reason !== undefined ? ` (${r.reason})` : ""}`}`,
            )
            .join("\n"),
        );
      } else {
        const mismatches = results.filter((r) => !r.match);
        print(
          cmd,
          ctx,
          { replayed: results.length, matched, mismatched: mismatches.length, mismatches: mismatches.slice(0, 100) },
          () =>
            [
              `replayed ${results.length} decisions: ${matched} match bit for bit, ${mismatches.length} differ`,
              ...mismatches
                .slice(0, 20)
                .map(
                  (r) =>
                    `  ${r.request_id}: recorded ${r.recorded_score} replayed ${r.replayed_score}${r.reason !== undefined ? ` (${r.reason})` : ""}`,
                ),
            ].join("\n"),
        );
      }
      if (matched < results.length)
        throw new DataIntegrityError(
          `${results.length - matched} of ${results.length} decisions did not replay to their recorded score`,
        );
    });

  decisions
    .command("retention")
    .description("delete decision records older than a number of days, except those under legal hold")
    .requiredOption("--older-than <days>", "e.g. 400d")
    .action(async (flags: { olderThan: string }, cmd: Command) => {
      const days = parseDays(flags.olderThan);
      const before = Date.now() - days * 86_400_000;
      const result = await withStores(configFor(cmd, ctx), (s) => s.decisions.applyRetention(before, LOCAL_ACTOR));
      print(
        cmd,
        ctx,
        { ...result, before },
        () =>
          `deleted ${result.deleted} decision records recorded before ${isoTime(before)}; ${result.held} kept under legal hold`,
      );
    });

  decisions
    .command("hold <id>")
    .description("put a request's decision records under legal hold: retention keeps them")
    .requiredOption("--reason <text>", "why (e.g. a case number)")
    .action(async (id: string, flags: { reason: string }, cmd: Command) => {
      const holds = await withStores(configFor(cmd, ctx), (s) => s.decisions.hold(id, flags.reason, LOCAL_ACTOR));
      print(cmd, ctx, holds, () => `${holds.length} decision records of ${id} under legal hold`);
    });

  decisions
    .command("holds")
    .description("the decision records under legal hold")
    .action(async (_flags: object, cmd: Command) => {
      const holds = await withStores(configFor(cmd, ctx), (s) => s.decisions.holds());
      print(cmd, ctx, holds, () =>
        table(
          ["REQUEST ID", "SINCE", "BY", "REASON"],
          holds.map((h) => [h.requestId, isoTime(h.time), h.actor, h.reason]),
        ),
      );
    });

  decisions
    .command("release <id>")
    .description("lift the legal hold on a request's decision records")
    .action(async (id: string, _flags: object, cmd: Command) => {
      const lifted = await withStores(configFor(cmd, ctx), (s) => s.decisions.release(id, LOCAL_ACTOR));
      print(cmd, ctx, { released: lifted }, () => `legal hold lifted from ${lifted} decision records of ${id}`);
    });
}
