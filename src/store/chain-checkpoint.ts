import { createHmac } from "node:crypto";
import { mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { InvalidParameterError } from "../errors.js";
import { sameDigest } from "./hash-chain.js";
import type { ChainKey, ChainKeyring, TrustedHead } from "./hash-chain.js";

/** The chains keel keeps: the audit log and the decision records. */
export type ChainName = "audit" | "decisions";

/** Secrets shorter than this are refused: HMAC-SHA256 wants a key of at least its output size. */
const MIN_SECRET_BYTES = 32;

/**
 * Reads a keyring document: `{"current": "<id>", "keys": {"<id>": "<secret>", …}}`. A secret is
 * `hex:<hex>`, `base64:<base64>`, or plain text, at least 32 bytes; `current` must name one of the
 * keys. Rotation: add a key, point `current` at it, keep the old ones.
 */
export function parseChainKeyring(text: string, source: string): ChainKeyring {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw keyringError(source, "is not valid JSON");
  }
  if (typeof doc !== "object" || doc === null) throw keyringError(source, "must be a JSON object");
  const { current, keys } = doc as { current?: unknown; keys?: unknown };
  if (typeof keys !== "object" || keys === null || Array.isArray(keys)) {
    throw keyringError(source, "field keys must be an object of key id → secret");
  }
  const map = new Map<string, ChainKey>();
  for (const [id, value] of Object.entries(keys)) {
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) {
      throw keyringError(
        source,
        `key id ${JSON.stringify(id.slice(0, 64))} must be 1–64 letters, digits, '.', '_' or '-'`,
      );
    }
    if (typeof value !== "string") throw keyringError(source, `keys.${id} must be a string`);
    const secret = decodeSecret(value);
    if (secret.length < MIN_SECRET_BYTES) {
      throw keyringError(
        source,
        `keys.${id} is ${secret.length} bytes; a secret must be at least ${MIN_SECRET_BYTES} bytes`,
      );
    }
    map.set(id, { id, secret });
  }
  if (typeof current !== "string" || !map.has(current)) {
    throw keyringError(
      source,
      `field current must name one of the keys (${[...map.keys()].join(", ") || "none given"})`,
    );
  }
  return { current: map.get(current) as ChainKey, keys: map };
}

function decodeSecret(value: string): Buffer {
  if (value.startsWith("hex:")) return Buffer.from(value.slice(4), "hex");
  if (value.startsWith("base64:")) return Buffer.from(value.slice(7), "base64");
  return Buffer.from(value, "utf8");
}

function keyringError(source: string, rule: string): InvalidParameterError {
  return new InvalidParameterError(`audit keyring ${source}: ${rule}`, { details: { field: "auditKeys", rule } });
}

/** A chain's head as written to a checkpoint file, with the MAC over it. */
export interface ChainCheckpoint {
  readonly chain: ChainName;
  readonly seq: number;
  readonly hash: string;
  readonly time: number;
  readonly key_id: string;
  readonly mac: string;
}

function checkpointMac(key: ChainKey, c: Omit<ChainCheckpoint, "key_id" | "mac">): string {
  return createHmac("sha256", key.secret)
    .update(JSON.stringify(["keel-chain-checkpoint", c.chain, c.seq, c.hash, c.time, key.id]))
    .digest("hex");
}

/**
 * Writes the chain's head to `<dir>/<chain>-<seq>-<time>.json`, MACed with the current key.
 * Files are only ever added, so the directory is the head's history; written to a temp file and
 * renamed so a reader never sees half a checkpoint.
 */
export async function writeChainCheckpoint(
  dir: string,
  keyring: ChainKeyring,
  head: { chain: ChainName; seq: number; hash: string; time: number },
): Promise<{ file: string; checkpoint: ChainCheckpoint }> {
  const checkpoint: ChainCheckpoint = {
    ...head,
    key_id: keyring.current.id,
    mac: checkpointMac(keyring.current, head),
  };
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${head.chain}-${String(head.seq).padStart(12, "0")}-${head.time}.json`);
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(checkpoint)}\n`, { flush: true });
  await rename(tmp, file);
  return { file, checkpoint };
}

/** The checkpoints of a chain in `dir`, each authenticated; a forged or unreadable one is an error. */
export type CheckpointRead =
  { readonly ok: true; readonly heads: readonly TrustedHead[] } | { readonly ok: false; readonly reason: string };

export async function readChainCheckpoints(
  dir: string,
  chain: ChainName,
  keyring: ChainKeyring,
): Promise<CheckpointRead> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return { ok: true, heads: [] };
    throw e;
  }
  const heads: TrustedHead[] = [];
  for (const name of names.filter((n) => n.startsWith(`${chain}-`) && n.endsWith(".json")).sort()) {
    const c = parseCheckpoint(await readFile(path.join(dir, name), "utf8"));
    if (c === undefined || c.chain !== chain)
      return { ok: false, reason: `checkpoint ${name} is not a ${chain} checkpoint` };
    const key = keyring.keys.get(c.key_id);
    if (key === undefined) {
      return { ok: false, reason: `checkpoint ${name} is sealed with key '${c.key_id}', which is not in the keyring` };
    }
    if (!sameDigest(checkpointMac(key, c), c.mac)) {
      return { ok: false, reason: `checkpoint ${name} was altered: its MAC does not match` };
    }
    heads.push({ seq: c.seq, hash: c.hash, source: name });
  }
  return { ok: true, heads };
}

function parseCheckpoint(text: string): ChainCheckpoint | undefined {
  try {
    const c = JSON.parse(text) as Partial<ChainCheckpoint>;
    const ok =
      typeof c.chain === "string" &&
      Number.isSafeInteger(c.seq) &&
      typeof c.hash === "string" &&
      Number.isSafeInteger(c.time) &&
      typeof c.key_id === "string" &&
      typeof c.mac === "string";
    return ok ? (c as ChainCheckpoint) : undefined;
  } catch {
    return undefined;
  }
}
