import type { Command } from "commander";
import type { ReviewItemJson } from "../../client/index.js";
import type { KeelConfig } from "../../config.js";
import type { Stores } from "../../open-stores.js";
import { reviewItemJson } from "../../server/index.js";
import { specError } from "../../spec-fields.js";
import { REVIEW_STATUSES, type ReviewStatus } from "../../wire/index.js";
import { configFor, group, print, serverClient, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

/** Who reviews on the local store when `--reviewer` is not given (as other local CLI writes). */
const LOCAL_REVIEWER = "cli";

interface ListFlags {
  status?: string;
  endpoint?: string;
  reviewer?: string;
  limit?: number;
}

function itemsTable(items: readonly ReviewItemJson[]): string {
  return table(
    ["ENDPOINT", "REQUEST", "QUEUED", "SCORE", "MODEL", "INTERIM", "STATUS", "REVIEWER", "VERDICT", "REASONS"],
    items.map((it) => [
      it.endpoint,
      it.request_id,
      it.queued_at,
      it.score.toFixed(4),
      `${it.model_decision} (v${it.model_version})`,
      it.interim_decision,
      it.status,
      it.decided_by ?? it.claimed_by ?? "",
      it.verdict ?? "",
      it.reasons.join("; "),
    ]),
  );
}

function describe(it: ReviewItemJson): string {
  const lines = [
    `${it.endpoint}/${it.request_id}: ${it.status}${it.claimed_by === null ? "" : ` (${it.claimed_by})`}`,
    `  model ${it.model_name} v${it.model_version} (${it.route}): score ${it.score}, decision ${it.model_decision}`,
    `  interim decision: ${it.interim_decision}; reviewed because: ${it.reasons.join("; ")}`,
    `  inputs: ${JSON.stringify(it.inputs)}`,
  ];
  if (it.verdict !== null) {
    lines.push(
      `  verdict: ${it.verdict}${it.overridden === true ? " (overrides the model)" : ""} by ${it.decided_by ?? "?"}: ${it.verdict_reason ?? ""}`,
    );
  }
  return lines.join("\n");
}

/** Runs on the server at the tracking URI when one is configured, else on the local store. */
async function onQueue<T>(
  config: KeelConfig,
  remote: (client: NonNullable<ReturnType<typeof serverClient>>) => Promise<T>,
  local: (stores: Stores) => Promise<T>,
): Promise<T> {
  const client = serverClient(config);
  return client !== undefined ? remote(client) : withStores(config, local);
}

function limitOf(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1000) throw specError("--limit", value, "must be an integer in [1, 1000]");
  return n;
}

/**
 * `keel review list|show|claim|decide`: the human review queue. Against the server at the
 * tracking URI (the token's name is the reviewer; the reviewer role is needed when auth is on),
 * otherwise on the local store (`--reviewer`, default `cli`).
 */
export function reviewCommand(program: Command, ctx: CliContext): void {
  const review = group(program, "review", "the human review queue: list, claim and decide queued decisions");

  review
    .command("list")
    .description("queued decisions, oldest first")
    .option("--status <status>", `one of ${REVIEW_STATUSES.join(", ")}`)
    .option("--endpoint <name>", "one endpoint's items")
    .option("--reviewer <name>", "items claimed or decided by this reviewer")
    .option("--limit <n>", "at most this many (default 100, at most 1000)", limitOf)
    .action(async (flags: ListFlags, cmd: Command) => {
      if (flags.status !== undefined && !(REVIEW_STATUSES as readonly string[]).includes(flags.status)) {
        throw specError("--status", flags.status, `must be one of ${REVIEW_STATUSES.join(", ")}`);
      }
      const query = {
        ...(flags.status !== undefined ? { status: flags.status as ReviewStatus } : {}),
        ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
        ...(flags.reviewer !== undefined ? { reviewer: flags.reviewer } : {}),
        ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
      };
      const items = await onQueue(
        configFor(cmd, ctx),
        (c) => c.listReviews(query),
        async (s) => (await s.reviews.list(query)).map(reviewItemJson),
      );
      print(cmd, ctx, { items }, () => itemsTable(items));
    });

  review
    .command("show <endpoint> <request-id>")
    .description("one queued decision with its inputs")
    .action(async (endpoint: string, requestId: string, _flags: object, cmd: Command) => {
      const item = await onQueue(
        configFor(cmd, ctx),
        (c) => c.getReview(endpoint, requestId),
        async (s) => reviewItemJson(await s.reviews.get(endpoint, requestId)),
      );
      print(cmd, ctx, { item }, () => describe(item));
    });

  review
    .command("claim <endpoint> <request-id>")
    .description("take a pending decision for review")
    .option(
      "--reviewer <name>",
      `who claims it (local store; with a server, the token's name; default ${LOCAL_REVIEWER})`,
    )
    .action(async (endpoint: string, requestId: string, flags: { reviewer?: string }, cmd: Command) => {
      const item = await onQueue(
        configFor(cmd, ctx),
        (c) => c.claimReview(endpoint, requestId),
        async (s) => reviewItemJson(await s.reviews.claim(endpoint, requestId, flags.reviewer ?? LOCAL_REVIEWER)),
      );
      print(cmd, ctx, { item }, () => `claimed ${describe(item)}`);
    });

  review
    .command("decide <endpoint> <request-id>")
    .description("record the verdict on a decision; it can override the model and becomes the decision's label")
    .requiredOption("--decision <label>", "the verdict: one of the endpoint's two decisions (e.g. approve, reject)")
    .requiredOption("--reason <text>", "why (recorded with the verdict and in the audit log)")
    .option(
      "--reviewer <name>",
      `who decides (local store; with a server, the token's name; default ${LOCAL_REVIEWER})`,
    )
    .action(
      async (
        endpoint: string,
        requestId: string,
        flags: { decision: string; reason: string; reviewer?: string },
        cmd: Command,
      ) => {
        const verdict = { decision: flags.decision, reason: flags.reason };
        const item = await onQueue(
          configFor(cmd, ctx),
          (c) => c.decideReview(endpoint, requestId, verdict),
          async (s) =>
            reviewItemJson(await s.reviews.decide(endpoint, requestId, flags.reviewer ?? LOCAL_REVIEWER, verdict)),
        );
        print(cmd, ctx, { item }, () => `decided ${describe(item)}`);
      },
    );
}
