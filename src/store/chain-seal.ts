import type { Clock } from "../runtime/index.js";
import { InvalidParameterError } from "../errors.js";
import type { AuditLog, AuditVerification } from "./audit.js";
import { readChainCheckpoints, writeChainCheckpoint } from "./chain-checkpoint.js";
import type { ChainCheckpoint, ChainName } from "./chain-checkpoint.js";
import type { DecisionStore, DecisionVerification } from "./decisions.js";
import type { ChainKeyring } from "./hash-chain.js";

/** What sealing the chains needs: the two chains, the keyring and the checkpoint directory. */
export interface ChainSealing {
  readonly audit: Pick<AuditLog, "head" | "verifyAuditChain">;
  readonly decisions: Pick<DecisionStore, "head" | "verify">;
  readonly keyring: ChainKeyring | undefined;
  /** Directory outside the database where checkpoints are added (docs/audit.md). */
  readonly checkpointDir: string;
  readonly clock?: Clock;
}

function requireKeyring(s: ChainSealing): ChainKeyring {
  if (s.keyring === undefined) {
    throw new InvalidParameterError(
      "audit checkpoint: no audit keyring is configured; set auditKeyFile (KEEL_AUDIT_KEY_FILE) or auditKeys (KEEL_AUDIT_KEYS)",
      { details: { field: "auditKeyFile", rule: "required to sign checkpoints" } },
    );
  }
  return s.keyring;
}

/** Records both chains' heads in signed checkpoint files; returns the files written. */
export async function checkpointChains(
  s: ChainSealing,
): Promise<readonly { file: string; checkpoint: ChainCheckpoint }[]> {
  const keyring = requireKeyring(s);
  const time = (s.clock ?? Date.now)();
  const audit = await s.audit.head();
  const decisions = await s.decisions.head();
  const heads: { chain: ChainName; seq: number; hash: string }[] = [
    { chain: "audit", ...audit },
    { chain: "decisions", ...decisions },
  ];
  const out = [];
  for (const h of heads) out.push(await writeChainCheckpoint(s.checkpointDir, keyring, { ...h, time }));
  return out;
}

export interface ChainsVerification {
  readonly audit: AuditVerification;
  readonly decisions: DecisionVerification;
  /** Whether checkpoints were read (a keyring is configured). */
  readonly checkpointsRead: boolean;
}

/** The decision records verified against their checkpoints (when a keyring is configured). */
export async function verifyDecisionChain(s: ChainSealing): Promise<DecisionVerification> {
  if (s.keyring === undefined) return s.decisions.verify();
  const cps = await readChainCheckpoints(s.checkpointDir, "decisions", s.keyring);
  return cps.ok
    ? s.decisions.verify({ checkpoints: cps.heads })
    : { ok: false, records: 0, brokenAt: 0, requestId: null, reason: cps.reason };
}

/** The audit log verified against its checkpoints (when a keyring is configured). */
export async function verifyAuditChain(s: ChainSealing): Promise<AuditVerification> {
  if (s.keyring === undefined) return s.audit.verifyAuditChain();
  const cps = await readChainCheckpoints(s.checkpointDir, "audit", s.keyring);
  return cps.ok
    ? s.audit.verifyAuditChain({ checkpoints: cps.heads })
    : { ok: false, rows: 0, brokenAt: 0, reason: cps.reason };
}

/**
 * Verifies both chains against the checkpoints in the directory (authenticated with the keyring);
 * without a keyring, the chains alone. A forged checkpoint file is itself a break.
 */
export async function verifyChains(s: ChainSealing): Promise<ChainsVerification> {
  return {
    audit: await verifyAuditChain(s),
    decisions: await verifyDecisionChain(s),
    checkpointsRead: s.keyring !== undefined,
  };
}
