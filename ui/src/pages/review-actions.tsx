import type { JSX } from "preact";
import { useContext, useId, useState } from "preact/hooks";
import type { ReviewItemJson } from "../../../src/client/index.js";
import { client, errorText, roleAllows } from "../api.js";
import { CallerContext, ErrorBox } from "../ui.js";

/** What the actions need of a queued decision: a queue item, or a decision record's review. */
export interface ReviewTarget {
  readonly endpoint: string;
  readonly request_id: string;
  readonly status: ReviewItemJson["status"];
  readonly claimed_by: string | null;
  readonly verdict: string | null;
  readonly decided_by: string | null;
  /** The two verdicts the item may take; unknown to a caller who may not read the queue. */
  readonly decisions?: readonly string[];
}

/** Why the caller may not claim or decide `it`, or undefined when they may (the server checks again). */
function blockedBecause(it: ReviewTarget, role: string, me: string): string | undefined {
  if (!roleAllows(role, "reviewer")) return `Claiming and deciding need the reviewer role; you are ${role}.`;
  if (it.status === "claimed" && it.claimed_by !== me) return `Claimed by ${it.claimed_by ?? ""}: only they decide it.`;
  return undefined;
}

/**
 * Claim a pending decision, or decide it with a reason (pending or claimed by the caller). Controls
 * the caller may not use stay visible, disabled, with the reason next to them.
 */
export function ReviewActions(props: { item: ReviewTarget; onDone: () => void }): JSX.Element {
  const caller = useContext(CallerContext);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const whyId = useId();
  const it = props.item;
  if (it.status === "decided") return <span>{`${it.verdict ?? ""} by ${it.decided_by ?? ""}`}</span>;
  // With auth off the server records the reviewer as "anonymous".
  const blocked = blockedBecause(it, caller.role, caller.name ?? "anonymous");
  const run = (call: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    call().then(
      () => {
        setBusy(false);
        props.onDone();
      },
      (e: unknown) => {
        setBusy(false);
        setError(errorText(e));
      },
    );
  };
  const off = blocked !== undefined || busy;
  const describedBy = blocked === undefined ? undefined : whyId;
  return (
    <div class="review-actions">
      {it.status === "pending" && (
        <button
          type="button"
          disabled={off}
          aria-describedby={describedBy}
          aria-label={`Claim ${it.request_id}`}
          onClick={() => run(() => client().claimReview(it.endpoint, it.request_id))}
        >
          Claim
        </button>
      )}
      <div class="toolbar">
        <label>
          Reason for the verdict
          <input value={reason} disabled={off} maxLength={2000} onInput={(e) => setReason(e.currentTarget.value)} />
        </label>
        {(it.decisions ?? ["Decide"]).map((d) => (
          <button
            key={d}
            type="button"
            disabled={off || it.decisions === undefined}
            aria-describedby={describedBy}
            onClick={() => run(() => client().decideReview(it.endpoint, it.request_id, { decision: d, reason }))}
          >
            {d}
          </button>
        ))}
      </div>
      {blocked !== undefined && (
        <p class="muted" id={whyId}>
          {blocked}
        </p>
      )}
      {error !== undefined && <ErrorBox error={error} />}
    </div>
  );
}
