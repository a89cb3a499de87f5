import path from "node:path";
import type { Command } from "commander";
import { writeFileAtomic } from "../../data/index.js";
import {
  CARD_FORMATS,
  buildModelCard,
  parseCardSetting,
  renderModelCard,
  saveModelCard,
  setCardText,
  type CardFormat,
  type CardTextField,
  type ModelCard,
} from "../../pipeline/index.js";
import { specError } from "../../spec-fields.js";
import { collect, configFor, group, serverClient } from "../context.js";
import type { CliContext } from "../context.js";
import { withStores } from "../stores.js";
import { MODELS_DESCRIPTION } from "./models.js";

/** Who records the card's texts on the local store (as other local CLI writes). */
const LOCAL_ACTOR = { userId: "cli" };

interface CardFlags {
  format: string;
  set?: string[];
  output?: string;
}

/**
 * `keel models card NAME VERSION [--format md|html|json] [--set intended_use=TEXT] [--set
 * limitations=TEXT] [--output FILE]`: records the given texts on the version, generates its card
 * from the registry, the training run, the artifact and the audit log, keeps it with the version
 * and prints it (or writes it to FILE). Against the server at the tracking URI when one is
 * configured, else on the local store.
 */
export function modelCardCommand(program: Command, ctx: CliContext): void {
  group(program, "models", MODELS_DESCRIPTION)
    .command("card <name> <version>")
    .description("generate a version's model card, keep it with the version and print it")
    .option("--format <format>", `one of ${CARD_FORMATS.join(", ")}`, "md")
    .option("--set <field=text>", "record intended_use or limitations on the version first (repeatable)", collect)
    .option("--output <file>", "write the card to this file instead of printing it")
    .action(async (name: string, version: string, flags: CardFlags, cmd: Command) => {
      if (!(CARD_FORMATS as readonly string[]).includes(flags.format)) {
        throw specError("--format", flags.format, `must be one of ${CARD_FORMATS.join(", ")}`);
      }
      const format = flags.format as CardFormat;
      const texts: Partial<Record<CardTextField, string>> = {};
      for (const s of flags.set ?? []) {
        const { field, value } = parseCardSetting(s);
        texts[field] = value;
      }
      const config = configFor(cmd, ctx);
      const client = serverClient(config);
      let card: ModelCard;
      if (client !== undefined) {
        card = (await client.generateModelCard(name, version, texts)).card;
      } else {
        card = await withStores(config, async (stores) => {
          await stores.registry.getModelVersion(name, version);
          await setCardText(stores.registry, name, version, texts, LOCAL_ACTOR);
          const sources = {
            registry: stores.registry,
            tracking: stores.tracking,
            artifacts: stores.artifacts,
            audit: stores.audit.list.bind(stores.audit),
          };
          const built = await buildModelCard(sources, name, version);
          await saveModelCard(sources, built, LOCAL_ACTOR);
          return built;
        });
      }
      const text = renderModelCard(card, format);
      if (flags.output === undefined) {
        ctx.out(text.replace(/\n$/, ""));
        return;
      }
      const file = path.resolve(ctx.cwd, flags.output);
      await writeFileAtomic(file, text);
      ctx.out(`model card of ${name} version ${version} (${format}) -> ${file}`);
    });
}
