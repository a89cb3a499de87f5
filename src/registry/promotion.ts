/**
 * Human-approved promotion and rollback: moving the alias that puts a model in front of customers
 * (by default `champion`) is a recorded decision — who approved it and why — on the alias's
 * history and in the audit log, in the same transaction as the move.
 */
import { InvalidStateError, NotFoundError } from "../errors.js";
import { checkAlias } from "./sql-registry-store.js";
import type { ModelVersion, RegistryStore } from "./types.js";
import { specError } from "../spec-fields.js";

export const CHAMPION_ALIAS = "champion";
export const CHALLENGER_ALIAS = "challenger";

export interface PromoteInput {
  readonly name: string;
  readonly version: string;
  /** Default `champion`. */
  readonly alias?: string;
  /** Who approved the promotion (the token's name when the server has auth on). */
  readonly approver: string;
  /** Why: a ticket, an evaluation, a sign-off. Required, so every promotion can be explained later. */
  readonly reason: string;
}

export interface RollbackInput {
  readonly name: string;
  /** Default `champion`. */
  readonly alias?: string;
  readonly actor: string;
  /** Why the alias moves back; recorded in the audit log. Default "rollback". */
  readonly reason?: string;
}

/** What an alias move did. */
export interface AliasMove {
  readonly name: string;
  readonly alias: string;
  /** Version the alias pointed at before (null when it was not set). */
  readonly fromVersion: string | null;
  readonly toVersion: string;
  readonly actor: string;
  readonly reason: string;
}

const MAX_REASON = 2000;

function requireText(field: string, value: unknown, max: number): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw specError(field, value, "must be a non-empty string");
  }
  if (value.length > max) {
    throw specError(field, value, `must be at most ${max} characters (got ${value.length})`);
  }
  return value.trim();
}

/** The version `alias` points at, or null; NotFoundError when the model does not exist. */
async function currentVersion(registry: RegistryStore, name: string, alias: string): Promise<string | null> {
  const model = await registry.getRegisteredModel(name);
  return model.aliases.find((a) => a.alias === alias)?.version ?? null;
}

async function versionExists(registry: RegistryStore, name: string, version: string): Promise<boolean> {
  try {
    await registry.getModelVersion(name, version);
    return true;
  } catch (e) {
    if (e instanceof NotFoundError) return false;
    throw e;
  }
}

/**
 * Points `alias` (default `champion`) at `version`, recording the approver and the reason.
 * Fails with InvalidStateError when the alias already points there, so a repeated approval does
 * not write a misleading history entry.
 */
export async function promoteAlias(registry: RegistryStore, input: PromoteInput): Promise<AliasMove> {
  const name = requireText("name", input.name, 256);
  const version = requireText("version", input.version, 64);
  const alias = checkAlias(input.alias ?? CHAMPION_ALIAS);
  const approver = requireText("approver", input.approver, 256);
  const reason = requireText("reason", input.reason, MAX_REASON);
  const target: ModelVersion = await registry.getModelVersion(name, version);
  const from = await currentVersion(registry, name, alias);
  if (from === target.version) {
    throw new InvalidStateError(
      `alias ${JSON.stringify(alias)} of ${JSON.stringify(name)} already points at version ${from}`,
      {
        details: { name, alias, version: from },
      },
    );
  }
  await registry.setAlias(
    name,
    alias,
    target.version,
    { userId: approver },
    {
      action: "promote",
      reason,
      expectedVersion: from,
    },
  );
  return { name, alias, fromVersion: from, toVersion: target.version, actor: approver, reason };
}

/**
 * Moves `alias` (default `champion`) back to the version it pointed at before: the newest entry of
 * its history that is not the current version and is still registered (deleted versions are
 * skipped). Fails with InvalidStateError when there is no such version.
 */
export async function rollbackAlias(registry: RegistryStore, input: RollbackInput): Promise<AliasMove> {
  const name = requireText("name", input.name, 256);
  const alias = checkAlias(input.alias ?? CHAMPION_ALIAS);
  const actor = requireText("actor", input.actor, 256);
  const reason = input.reason === undefined ? "rollback" : requireText("reason", input.reason, MAX_REASON);
  const from = await currentVersion(registry, name, alias);
  const history = await registry.aliasHistory(name, alias);
  let to: string | undefined;
  for (const entry of history) {
    if (entry.version === from) continue;
    if (await versionExists(registry, name, entry.version)) {
      to = entry.version;
      break;
    }
  }
  if (to === undefined) {
    throw new InvalidStateError(
      `cannot roll back alias ${JSON.stringify(alias)} of ${JSON.stringify(name)}: it has pointed at no other registered version${from === null ? "" : ` than version ${from}`}`,
      { details: { name, alias, version: from } },
    );
  }
  await registry.setAlias(name, alias, to, { userId: actor }, { action: "rollback", reason, expectedVersion: from });
  return { name, alias, fromVersion: from, toVersion: to, actor, reason };
}
