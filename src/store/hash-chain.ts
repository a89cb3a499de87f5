import crypto, { timingSafeEqual } from "node:crypto";

/** The `prev_hash` of a chain's first row. */
export const GENESIS_HASH = "0".repeat(64);

/** One secret of a chain keyring; `id` is stored with every row it seals. */
export interface ChainKey {
  readonly id: string;
  readonly secret: Buffer;
}

/**
 * The keys that seal the hash chains (audit log, decision records), kept outside the database:
 * `current` seals new rows and checkpoints; retired keys stay in `keys` so old rows still verify.
 */
export interface ChainKeyring {
  readonly current: ChainKey;
  readonly keys: ReadonlyMap<string, ChainKey>;
}

/**
 * The link of one row in a hash chain: sha256 over the previous row's hash, a newline, and the
 * JSON array of the row's stored fields in a fixed order. With a key it is HMAC-SHA256 under that
 * key over the same text and the key's id, so whoever can write the database but does not hold the
 * key cannot recompute the chain after editing a row. Fields are hashed exactly as stored.
 */
export function chainHash(prevHash: string, fields: readonly unknown[], key?: ChainKey): string {
  return linkDigest(crypto, prevHash, JSON.stringify(fields), key?.id, key?.secret);
}

/**
 * chainHash over the fields' JSON text `text`. Self-contained (node:crypto comes in as `c`): the
 * SQLite inference-log writer's worker thread links decision records with this very source.
 */
export function linkDigest(
  c: typeof crypto,
  prevHash: string,
  text: string,
  keyId: string | undefined,
  secret: Buffer | undefined,
): string {
  if (secret === undefined || keyId === undefined) {
    // The one-shot digest (Node >= 20.12) costs half of a Hash object's create-update-digest round.
    const oneShot = (c as { hash?: (algorithm: string, data: string, encoding: "hex") => string }).hash;
    if (oneShot !== undefined) return oneShot("sha256", `${prevHash}\n${text}`, "hex");
    return c.createHash("sha256").update(prevHash).update("\n").update(text).digest("hex");
  }
  return c
    .createHmac("sha256", secret)
    .update(prevHash)
    .update("\n")
    .update(keyId)
    .update("\n")
    .update(text)
    .digest("hex");
}

/** Constant-time comparison of two hex digests. */
export function sameDigest(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/** One stored row of a chain, as the verifier needs it. */
export interface ChainLink {
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** Id of the key that sealed the row; null for an unkeyed (sha256) row. */
  readonly keyId: string | null;
  /** The row's stored fields in hashing order. */
  readonly fields: readonly unknown[];
  /** How a report names the row, e.g. `record 7 (request r-1)`. */
  readonly label: string;
  /** The row's own id, when it has one besides seq (a decision's request id). */
  readonly ref: string | null;
}

/** The chain's tip recorded outside the database (see chain-checkpoint.ts), already authenticated. */
export interface TrustedHead {
  readonly seq: number;
  readonly hash: string;
  /** Where it came from, for the report (a file name). */
  readonly source: string;
}

export interface ChainWalkOptions {
  /** Rows with seq ≥ `fromSeq`, in order, at most `limit`. */
  readPage(fromSeq: number, limit: number): Promise<readonly ChainLink[]>;
  /** The head row kept in the database, when the chain has one. */
  readHead(): Promise<{ seq: number; hash: string } | undefined>;
  /** Runs deleted on purpose (retention): first seq → last seq and the hash it ended on. */
  readonly gaps?: ReadonlyMap<number, { to: number; lastHash: string }>;
  readonly keyring?: ChainKeyring | undefined;
  readonly checkpoints?: readonly TrustedHead[] | undefined;
  /** "row" (audit log) or "record" (decision records). */
  readonly noun: string;
}

export type ChainWalk =
  | { readonly ok: true; readonly rows: number; readonly skipped: number; readonly checkpoints: number }
  | {
      readonly ok: false;
      readonly rows: number;
      readonly brokenAt: number;
      /** `ref` of the row at the break (or of the next one when rows are missing); null past the end. */
      readonly ref: string | null;
      readonly reason: string;
    };

const PAGE = 2000;

/**
 * Verifies a chain from its first row: no missing rows (but the declared gaps), each row links to
 * the one before, each hash recomputes (under the row's key when it has one), no unkeyed row after a
 * keyed one, every checkpoint's hash matches the row it names, and the chain is not shorter than
 * the newest checkpoint or its head row. Reports the first break.
 */
export async function walkChain(o: ChainWalkOptions): Promise<ChainWalk> {
  const gaps = o.gaps ?? new Map<number, { to: number; lastHash: string }>();
  const trusted = new Map<number, TrustedHead>();
  for (const c of o.checkpoints ?? []) trusted.set(c.seq, c);
  let prevHash = GENESIS_HASH;
  let expected = 1;
  let rows = 0;
  let skipped = 0;
  let keyedFrom: number | undefined;
  let checked = 0;
  const skipGaps = () => {
    for (let run = gaps.get(expected); run !== undefined; run = gaps.get(expected)) {
      skipped += run.to - expected + 1;
      prevHash = run.lastHash;
      expected = run.to + 1;
    }
  };
  for (;;) {
    const page = await o.readPage(expected, PAGE);
    for (const r of page) {
      skipGaps();
      const broken = (reason: string, at = r.seq): ChainWalk => ({ ok: false, rows, brokenAt: at, ref: r.ref, reason });
      if (r.seq !== expected) {
        const gap = r.seq - 1 === expected ? `${o.noun} ${expected} is` : `${o.noun}s ${expected}–${r.seq - 1} are`;
        return broken(`${gap} missing (deleted); the next is ${r.label}`, expected);
      }
      if (r.prevHash !== prevHash) return broken(`${r.label} does not link to ${o.noun} ${r.seq - 1}`);
      let key: ChainKey | undefined;
      if (r.keyId !== null) {
        key = o.keyring?.keys.get(r.keyId);
        if (key === undefined) {
          return broken(
            `${r.label} is sealed with audit key '${r.keyId}', which is not in the configured keyring; cannot verify`,
          );
        }
        keyedFrom ??= r.seq;
      } else if (keyedFrom !== undefined) {
        return broken(
          `${r.label} is not sealed although ${o.noun} ${keyedFrom} and later ones are: rewritten without the key`,
        );
      }
      if (!sameDigest(chainHash(prevHash, r.fields, key), r.hash)) {
        return broken(`${r.label} was altered: its content does not match its hash`);
      }
      const cp = trusted.get(r.seq);
      if (cp !== undefined) {
        if (cp.hash !== r.hash)
          return broken(`${r.label} differs from checkpoint ${cp.source}: the chain was rewritten`);
        checked++;
      }
      prevHash = r.hash;
      expected = r.seq + 1;
      rows++;
    }
    if (page.length < PAGE) break;
  }
  skipGaps();
  const last = expected - 1;
  for (const cp of o.checkpoints ?? []) {
    if (cp.seq > last) {
      return {
        ok: false,
        rows,
        brokenAt: last + 1,
        ref: null,
        reason: `the chain ends at ${o.noun} ${last} but checkpoint ${cp.source} recorded ${o.noun} ${cp.seq}: the newest ${o.noun}s were deleted`,
      };
    }
    if (cp.seq === last && cp.hash !== prevHash) {
      return {
        ok: false,
        rows,
        brokenAt: last,
        ref: null,
        reason: `${o.noun} ${last} differs from checkpoint ${cp.source}`,
      };
    }
  }
  const head = await o.readHead();
  if (head !== undefined && (head.seq !== last || head.hash !== prevHash)) {
    return {
      ok: false,
      rows,
      brokenAt: last + 1,
      ref: null,
      reason: `the chain ends at ${o.noun} ${last} but its head records ${o.noun} ${head.seq}: the newest ${o.noun}s were deleted`,
    };
  }
  return { ok: true, rows, skipped, checkpoints: checked };
}
