import { createHash } from "node:crypto";
import type { Column, Frame, Signature } from "../data/index.js";
import type { Predictor } from "../learn/index.js";
import type { ModelVersion } from "../registry/index.js";
import type { DecisionRecord, FeatureValues } from "../store/index.js";
import { openModelBytes, verifiedArtifact } from "./artifact-loader.js";

/** One decision re-scored: bit-for-bit equal scores match. */
export interface ReplayResult {
  readonly requestId: string;
  readonly recordedScore: number | null;
  readonly replayedScore: number | null;
  readonly match: boolean;
  /** Why it could not be re-scored, or why it does not match. */
  readonly reason?: string;
}

export interface ReplayDeps {
  readonly getModelVersion: (name: string, version: string) => Promise<ModelVersion>;
  /** The artifact bytes of a registered version (the artifact store's read). */
  readonly fetchArtifact: (version: ModelVersion) => Promise<Uint8Array>;
}

interface OpenedVersion {
  readonly predictor: Predictor;
  readonly signature: Signature;
  readonly sha256: string;
}

/** Rows re-scored per predictor call. */
const CHUNK = 1024;

/**
 * Re-scores recorded decisions with the recorded model version's artifact (its sha256 checked
 * against the record's), from the inputs as scored, and compares the scores bit for bit. Each
 * version is opened once; `close` releases them.
 */
export class DecisionReplayer {
  private readonly versions = new Map<string, Promise<OpenedVersion>>();

  constructor(private readonly deps: ReplayDeps) {}

  async replay(records: readonly DecisionRecord[]): Promise<ReplayResult[]> {
    const out = new Array<ReplayResult>(records.length);
    const groups = new Map<string, number[]>();
    records.forEach((r, i) => {
      const refused = refusal(r);
      if (refused !== undefined) {
        out[i] = { requestId: r.requestId, recordedScore: r.score, replayedScore: null, match: false, reason: refused };
        return;
      }
      const key = `${r.modelName}\u0000${r.modelVersion}`;
      const group = groups.get(key);
      if (group === undefined) groups.set(key, [i]);
      else group.push(i);
    });
    for (const indices of groups.values()) {
      const first = records[indices[0] as number] as DecisionRecord;
      let opened: OpenedVersion;
      try {
        opened = await this.open(first.modelName, first.modelVersion);
      } catch (e) {
        const reason = e instanceof Error ? e.message : String(e);
        for (const i of indices) out[i] = failed(records[i] as DecisionRecord, reason);
        continue;
      }
      for (let c = 0; c < indices.length; c += CHUNK) {
        const chunk = indices.slice(c, c + CHUNK);
        const usable = chunk.filter((i) => {
          const r = records[i] as DecisionRecord;
          if (r.artifactSha256 === opened.sha256) return true;
          out[i] = failed(r, `artifact sha256 ${opened.sha256} differs from the recorded ${r.artifactSha256 ?? ""}`);
          return false;
        });
        if (usable.length === 0) continue;
        const frame = frameOf(
          opened.signature,
          usable.map((i) => (records[i] as DecisionRecord).scored),
        );
        const scores = await opened.predictor.predict(frame);
        usable.forEach((i, k) => {
          const r = records[i] as DecisionRecord;
          const replayed = scores[k] as number;
          out[i] = {
            requestId: r.requestId,
            recordedScore: r.score,
            replayedScore: replayed,
            match: Object.is(r.score, replayed),
          };
        });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    const opened = await Promise.allSettled([...this.versions.values()]);
    this.versions.clear();
    for (const o of opened) if (o.status === "fulfilled") await o.value.predictor.close();
  }

  private open(name: string, version: string): Promise<OpenedVersion> {
    const key = `${name}\u0000${version}`;
    let p = this.versions.get(key);
    if (p === undefined) {
      p = (async () => {
        const mv = await this.deps.getModelVersion(name, version);
        const bytes = await verifiedArtifact(this.deps.fetchArtifact, mv);
        const predictor = await openModelBytes(bytes);
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        return { predictor, signature: mv.signature ?? predictor.signature, sha256 };
      })();
      this.versions.set(key, p);
    }
    return p;
  }
}

function refusal(r: DecisionRecord): string | undefined {
  if (r.score === null) return "the record holds no score";
  if (r.artifactSha256 === null)
    return r.route === "fallback"
      ? "answered by the fallback's fixed score, not a model"
      : "the record names no artifact";
  return undefined;
}

function failed(r: DecisionRecord, reason: string): ReplayResult {
  return { requestId: r.requestId, recordedScore: r.score, replayedScore: null, match: false, reason };
}

/**
 * The frame the model scored, rebuilt from the recorded inputs as scored: numbers as they were,
 * booleans as 1/0, categories by name, null as missing. No input policy is applied again: the
 * record holds what passed it.
 */
export function frameOf(signature: Signature, rows: readonly FeatureValues[]): Frame {
  const n = rows.length;
  const columns: Column[] = signature.inputs.map((spec) => {
    const valid = new Uint8Array(n).fill(1);
    let missing = false;
    if (spec.type === "string") {
      const codes = new Int32Array(n);
      const dictionary: string[] = [];
      const index = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const v = (rows[i] as FeatureValues)[spec.name];
        if (v === null || v === undefined) {
          codes[i] = -1;
          valid[i] = 0;
          missing = true;
          continue;
        }
        const s = String(v);
        let code = index.get(s);
        if (code === undefined) {
          code = dictionary.push(s) - 1;
          index.set(s, code);
        }
        codes[i] = code;
      }
      return { kind: "categorical", name: spec.name, codes, dictionary, ...(missing ? { valid } : {}) };
    }
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const v = (rows[i] as FeatureValues)[spec.name];
      if (v === null || v === undefined) {
        values[i] = NaN;
        valid[i] = 0;
        missing = true;
      } else values[i] = typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
    }
    return { kind: "numeric", name: spec.name, values, ...(missing ? { valid } : {}) };
  });
  return { nRows: n, columns };
}
