import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { KeelLlmClient } from "../../client/index.js";
import type { AliasMoveJson, PromptJson, PromptVersionJson } from "../../client/index.js";
import type { KeelConfig } from "../../config.js";
import {
  createPromptVersion,
  diffPromptVersions,
  getPrompt,
  getPromptVersion,
  listPrompts,
  listPromptVersions,
  promotePromptGated,
  type EvalGateConfig,
} from "../../llm/index.js";
import { aliasMoveJson, promptJson, promptVersionJson, readLlmConfig } from "../../server/index.js";
import { specError } from "../../spec-fields.js";
import { collect, configFor, group, isoTime, print, serverClient, table } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";

type PromptsApi = Pick<
  KeelLlmClient,
  "createPromptVersion" | "listPrompts" | "getPrompt" | "getPromptVersion" | "diffPrompt" | "promotePrompt"
>;

/** The prompt registry of the local store, answering in the server's JSON shapes. */
function localApi(
  stores: Parameters<Parameters<typeof withStores>[1]>[0],
  gates: { promptGates?: Record<string, string>; evalGates?: Record<string, EvalGateConfig> },
): PromptsApi {
  const r = stores.registry;
  return {
    createPromptVersion: async (q) =>
      promptVersionJson(
        await createPromptVersion(
          r,
          {
            name: q.name,
            template: q.template,
            model: q.model,
            parameters: q.parameters,
            commitMessage: q.commit_message,
          },
          { userId: "cli" },
        ),
      ),
    listPrompts: async (q = {}) => {
      const page = await listPrompts(r, { maxResults: q.max_results, pageToken: q.page_token });
      return {
        prompts: page.items.map(promptJson),
        ...(page.nextPageToken === undefined ? {} : { next_page_token: page.nextPageToken }),
      };
    },
    getPrompt: async (name) => ({
      prompt: promptJson(await getPrompt(r, name)),
      versions: (await listPromptVersions(r, name)).map(promptVersionJson),
    }),
    getPromptVersion: async (name, ref) => promptVersionJson(await getPromptVersion(r, name, ref)),
    diffPrompt: async (name, from, to) => {
      const d = await diffPromptVersions(r, name, from, to);
      return { name, from_version: d.from.version, to_version: d.to.version, lines: d.lines.map((l) => ({ ...l })) };
    },
    promotePrompt: async (name, q): Promise<AliasMoveJson> => {
      const move = await promotePromptGated(
        { registry: r },
        { name, version: q.version, alias: q.to, approver: q.approver ?? "cli", reason: q.reason },
        gates,
      );
      return aliasMoveJson(move, await r.getModelVersion(name, move.toVersion));
    },
  };
}

/** Runs `fn` against the server at the tracking URI when one is configured, else the local store. */
async function withApi<T>(
  config: KeelConfig,
  llmConfig: string | undefined,
  fn: (api: PromptsApi) => Promise<T>,
): Promise<T> {
  const keel = serverClient(config);
  if (keel !== undefined) return fn(new KeelLlmClient(keel));
  const llm = llmConfig === undefined ? undefined : await readLlmConfig(llmConfig, {});
  const gates = llm === undefined ? {} : { promptGates: { ...llm.promptGates }, evalGates: { ...llm.evalGates } };
  return withStores(config, (stores) => fn(localApi(stores, gates)));
}

function readTemplate(file: string, cwd: string): string | PromptVersionJson["template"] {
  const full = path.resolve(cwd, file);
  const text = readFileSync(full, "utf8");
  if (/\.(json|ya?ml)$/i.test(file)) {
    const doc: unknown = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
    if (!Array.isArray(doc))
      throw specError("--template-file", file, "a JSON or YAML file must hold a list of chat messages");
    return doc as PromptVersionJson["template"];
  }
  return text;
}

function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of pairs) {
    const at = p.indexOf("=");
    if (at <= 0) throw specError("--param", p, "must be key=value");
    const raw = p.slice(at + 1);
    out[p.slice(0, at)] = raw.trim() !== "" && !Number.isNaN(Number(raw)) ? Number(raw) : raw;
  }
  return out;
}

function splitRef(ref: string): [string, string] {
  const at = ref.lastIndexOf("@");
  return at < 0 ? [ref, "latest"] : [ref.slice(0, at), ref.slice(at + 1)];
}

function describeVersion(v: PromptVersionJson): string {
  const head = [
    `${v.name} v${v.version}${v.aliases.length > 0 ? ` (${v.aliases.join(", ")})` : ""}: ${v.commit_message}`,
    `type: ${v.type}   variables: ${v.variables.join(", ") || "none"}`,
    ...(v.model === undefined ? [] : [`model: ${v.model}`]),
    ...Object.entries(v.parameters).map(([k, x]) => `${k}: ${JSON.stringify(x)}`),
    "",
  ];
  const body = typeof v.template === "string" ? [v.template] : v.template.map((m) => `[${m.role}]\n${m.content}`);
  return [...head, ...body].join("\n");
}

/** `keel prompts create|list|show|diff|promote` (docs/llm.md). */
export function promptsCommand(program: Command, ctx: CliContext): void {
  const prompts = group(program, "prompts", "the prompt registry: versioned templates, diff, approved promotion");

  prompts
    .command("create <name>")
    .description("register a new version of a prompt (text, or chat messages from a JSON/YAML file)")
    .option("--text <template>", "the template text, with {{variable}} placeholders")
    .option("--template-file <file>", "a text file (the template), or a .json/.yaml list of { role, content }")
    .requiredOption("-m, --message <text>", "commit message of the version")
    .option("--model <name>", "model the version is pinned to")
    .option("--param <key=value>", "pinned model parameter (temperature, max_tokens, top_p …); repeatable", collect)
    .action(
      async (
        name: string,
        flags: { text?: string; templateFile?: string; message: string; model?: string; param?: string[] },
        cmd: Command,
      ) => {
        if ((flags.text === undefined) === (flags.templateFile === undefined)) {
          throw specError("--text/--template-file", null, "give exactly one");
        }
        const template = flags.text ?? readTemplate(flags.templateFile as string, ctx.cwd);
        const v = await withApi(configFor(cmd, ctx), undefined, (api) =>
          api.createPromptVersion({
            name,
            template,
            commit_message: flags.message,
            ...(flags.model === undefined ? {} : { model: flags.model }),
            parameters: parseParams(flags.param ?? []),
          }),
        );
        print(cmd, ctx, v, () => `created ${v.name} v${v.version} (variables: ${v.variables.join(", ") || "none"})`);
      },
    );

  prompts
    .command("list")
    .description("registered prompts and their aliases")
    .action(async (_: unknown, cmd: Command) => {
      const page = await withApi(configFor(cmd, ctx), undefined, (api) => api.listPrompts({ max_results: 1000 }));
      print(cmd, ctx, page, () =>
        table(
          ["NAME", "ALIASES", "CREATED"],
          page.prompts.map((p: PromptJson) => [
            p.name,
            p.aliases.map((a) => `${a.alias}=v${a.version}`).join(" "),
            isoTime(p.creation_timestamp),
          ]),
        ),
      );
    });

  prompts
    .command("show <ref>")
    .description("a prompt version: NAME (latest), NAME@VERSION or NAME@ALIAS")
    .action(async (ref: string, _: unknown, cmd: Command) => {
      const [name, at] = splitRef(ref);
      const v = await withApi(configFor(cmd, ctx), undefined, async (api) =>
        at === "latest"
          ? ((await api.getPrompt(name)).versions[0] as PromptVersionJson)
          : api.getPromptVersion(name, at),
      );
      print(cmd, ctx, v, () => describeVersion(v));
    });

  prompts
    .command("diff <name> <from> <to>")
    .description("line diff between two versions (numbers or aliases), pinned model and parameters included")
    .action(async (name: string, from: string, to: string, _: unknown, cmd: Command) => {
      const d = await withApi(configFor(cmd, ctx), undefined, (api) => api.diffPrompt(name, from, to));
      print(cmd, ctx, d, () =>
        [
          `--- ${name} v${d.from_version}`,
          `+++ ${name} v${d.to_version}`,
          ...d.lines.map((l) => `${l.op}${l.text}`),
        ].join("\n"),
      );
    });

  prompts
    .command("promote <name> <version>")
    .description("point an alias at a prompt version, recording who approved it and why")
    .requiredOption("--to <alias>", "alias to move (production, staging …)")
    .requiredOption("--reason <text>", "why (recorded in the audit log)")
    .option("--approver <name>", "who approves (local store; with a server, the token's name)")
    .option("--llm-config <file>", "LLM config whose prompt promotion gates apply (local store)")
    .action(
      async (
        name: string,
        version: string,
        flags: { to: string; reason: string; approver?: string; llmConfig?: string },
        cmd: Command,
      ) => {
        const file = flags.llmConfig === undefined ? undefined : path.resolve(ctx.cwd, flags.llmConfig);
        const move = await withApi(configFor(cmd, ctx), file, (api) =>
          api.promotePrompt(name, {
            version,
            to: flags.to,
            reason: flags.reason,
            ...(flags.approver === undefined ? {} : { approver: flags.approver }),
          }),
        );
        const was = move.from_version === null ? "was not set" : `was v${move.from_version}`;
        print(
          cmd,
          ctx,
          move,
          () => `promoted ${move.name}: ${move.alias} -> v${move.to_version} (${was}) by ${move.actor}: ${move.reason}`,
        );
      },
    );
}
