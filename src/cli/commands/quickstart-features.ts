/**
 * The quickstart's feature store: the generated applications split into what is known about an
 * applicant over time (the feature source, `applicant_events.csv`) and the labelled applications
 * (the entity dataframe, `loan-applications.csv`), the feature repository defining the model's
 * features once (a feature view, an on-demand view deriving the ratios, a feature service), and
 * the request a client sends to score an applicant by id.
 */
import path from "node:path";
import {
  categoricalFromStrings,
  mulberry32,
  numericColumn,
  writeTable,
  type Column,
  type Frame,
  type Signature,
} from "../../data/index.js";
import { InvalidStateError } from "../../errors.js";

export const QUICKSTART_FEATURE_SERVICE = "loan_default_v1";
/** Every generated time lies before it: the materialization window's end. */
export const QUICKSTART_FEATURES_END = "2026-04-01T00:00:00Z";
const DAY = 86_400_000;
/** Applications arrive over the first quarter of 2026. */
const APPLICATIONS_START = Date.UTC(2026, 0, 1);
/** Columns of the applicant's record (the feature view); the rest of an application is sent with it. */
const PROFILE = [
  "credit_score",
  "annual_income",
  "num_delinquencies_12m",
  "employment_years",
  "home_ownership",
  "region",
] as const;
const REQUEST = ["loan_amount", "loan_term", "purpose"] as const;

const FEATURE_REPO = `# keel quickstart: the loan model's features, defined once (docs/features.md).
entities:
  - name: applicant
    join_keys: [applicant_id]
sources:
  - name: applicant_events
    path: applicant_events.csv
    timestamp_field: event_timestamp
    created_timestamp_column: created
feature_views:
  - name: applicant_profile
    entities: [applicant]
    source: applicant_events
    # No ttl: the generated records are dated early 2026 and must stay servable whenever the
    # quickstart runs. A production view sets one (e.g. ttl: 90d), enforced on every online read.
    schema:
      - { name: credit_score, dtype: int64 }
      - { name: annual_income, dtype: float64 }
      - { name: monthly_debt, dtype: float64 }
      - { name: num_delinquencies_12m, dtype: int64 }
      - { name: employment_years, dtype: float64 }
      - { name: home_ownership, dtype: string }
      - { name: region, dtype: string }
on_demand_feature_views:
  - name: affordability
    module: ./affordability.mjs
    sources: [applicant_profile]
    request_schema:
      - { name: loan_amount, dtype: float64 }
    schema:
      - { name: debt_to_income_ratio, dtype: float64 }
      - { name: loan_to_income, dtype: float64 }
feature_services:
  - name: ${QUICKSTART_FEATURE_SERVICE}
    features: [applicant_profile, affordability]
`;

const AFFORDABILITY = `// keel quickstart: the derived features, written once. keel runs this function on the
// point-in-time training set and on every request served by applicant_id, so training and
// serving compute them with the same code.
const ratio = (a, b) => (typeof a === "number" && typeof b === "number" && b > 0 ? a / b : null);

export default function affordability(columns) {
  const debt = columns.monthly_debt;
  const income = columns.annual_income;
  return {
    debt_to_income_ratio: debt.map((d, i) => ratio(typeof d === "number" ? 12 * d : null, income[i])),
    loan_to_income: columns.loan_amount.map((l, i) => ratio(l, income[i])),
  };
}
`;

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "");
}

function numeric(frame: Frame, name: string): Float64Array {
  const c = frame.columns.find((x) => x.name === name);
  if (c?.kind !== "numeric") throw new InvalidStateError(`loan applications: no numeric column ${name}`);
  return c.values;
}

function strings(frame: Frame, name: string): (string | null)[] {
  const c = frame.columns.find((x) => x.name === name);
  if (c?.kind !== "categorical") throw new InvalidStateError(`loan applications: no categorical column ${name}`);
  return Array.from(c.codes, (k) => (k < 0 ? null : (c.dictionary[k] as string)));
}

/** Column `name` of `frame` at `rows` (a row index may repeat). */
function pick(frame: Frame, name: string, rows: readonly number[]): Column {
  const c = frame.columns.find((x) => x.name === name);
  if (c?.kind === "numeric") {
    return numericColumn(
      name,
      Float64Array.from(rows, (r) => c.values[r] as number),
    );
  }
  const s = strings(frame, name);
  return categoricalFromStrings(
    name,
    rows.map((r) => s[r] ?? null),
  );
}

/**
 * Writes the feature source, the labelled applications, the feature repository and its on-demand
 * module into `dir`. Each applicant's record is dated 1 to 60 days before the application; one in
 * five also has an older record (a previous bureau pull, another credit score) that a
 * point-in-time join must pass over. The monthly debt is stored; the debt-to-income ratio is
 * derived from it by the on-demand view.
 */
export async function writeQuickstartFeatures(
  frame: Frame,
  dir: string,
  seed: number,
  write: (file: string, text: string) => Promise<void>,
): Promise<{ repoFile: string; entityDf: string; events: string }> {
  const u = mulberry32(seed + 1);
  const n = frame.nRows;
  const applied = new Float64Array(n);
  const recorded = new Float64Array(n);
  const older: number[] = [];
  for (let i = 0; i < n; i++) {
    applied[i] = APPLICATIONS_START + Math.floor(u() * 89) * DAY + Math.floor(u() * 86_400) * 1000;
    recorded[i] = (applied[i] as number) - (1 + Math.floor(u() * 60)) * DAY;
    if (u() < 0.2) older.push(i);
  }
  const rows = [...Array.from({ length: n }, (_, i) => i), ...older];
  const times = [
    ...Array.from(recorded, iso),
    ...older.map((i) => iso((recorded[i] as number) - (200 + Math.floor(u() * 200)) * DAY)),
  ];
  const credit = numeric(frame, "credit_score");
  const income = numeric(frame, "annual_income");
  const dti = numeric(frame, "debt_to_income_ratio");
  const olderCredit = older.map((i) => Math.round(Math.min(850, Math.max(300, (credit[i] as number) - 40 + 80 * u()))));
  const events: Frame = {
    nRows: rows.length,
    columns: [
      pick(frame, "applicant_id", rows),
      categoricalFromStrings("event_timestamp", times),
      categoricalFromStrings("created", times),
      numericColumn(
        "credit_score",
        Float64Array.from(rows, (r, k) => (k < n ? (credit[r] as number) : (olderCredit[k - n] as number))),
      ),
      ...PROFILE.filter((name) => name !== "credit_score").map((name) => pick(frame, name, rows)),
      numericColumn(
        "monthly_debt",
        Float64Array.from(rows, (r) => Math.round(((dti[r] as number) * (income[r] as number) * 100) / 12) / 100),
      ),
    ],
  };
  const all = Array.from({ length: n }, (_, i) => i);
  const applications: Frame = {
    nRows: n,
    columns: [
      pick(frame, "applicant_id", all),
      categoricalFromStrings("event_timestamp", Array.from(applied, iso)),
      ...REQUEST.map((name) => pick(frame, name, all)),
      pick(frame, "default", all),
    ],
  };
  const out = {
    repoFile: path.join(dir, "features.yaml"),
    entityDf: path.join(dir, "loan-applications.csv"),
    events: path.join(dir, "applicant_events.csv"),
  };
  await writeTable(events, out.events);
  await writeTable(applications, out.entityDf);
  await write(out.repoFile, FEATURE_REPO);
  await write(path.join(dir, "affordability.mjs"), AFFORDABILITY);
  return out;
}

type JsonValue = number | string | boolean;

/**
 * A request to score an applicant by id: the first training row whose inputs lie inside the
 * signature (so the features the server looks up are accepted), as its applicant id and the
 * model's inputs the feature service does not serve (what the application itself says).
 */
export function entityExample(
  training: Frame,
  signature: Signature,
  served: readonly string[],
): Record<string, JsonValue> {
  const ids = strings(training, "applicant_id");
  for (let r = 0; r < training.nRows; r++) {
    const rec: Record<string, JsonValue> = { applicant_id: ids[r] as string };
    let ok = ids[r] !== null;
    for (const input of signature.inputs) {
      const col = training.columns.find((c) => c.name === input.name);
      if (!ok || col === undefined) {
        ok = false;
        break;
      }
      let v: JsonValue | undefined;
      if (col.kind === "numeric") {
        const x = col.values[r] as number;
        if (x === x && (input.range === undefined || (x >= input.range.min && x <= input.range.max))) v = x;
      } else {
        const k = col.codes[r] as number;
        const s = k < 0 ? undefined : col.dictionary[k];
        if (s !== undefined && (input.categories === undefined || input.categories.includes(s))) v = s;
      }
      if (v === undefined) ok = false;
      else if (!served.includes(input.name)) rec[input.name] = v;
    }
    if (ok) return rec;
  }
  throw new InvalidStateError("no training row fits the model's signature; cannot build an example request");
}

const OIP_TYPES = { double: "FP64", long: "INT64", boolean: "BOOL", string: "BYTES" } as const;

/** The Open Inference Protocol V2 body of an entity request: one tensor per field sent. */
export function entityOipRequest(record: Readonly<Record<string, JsonValue>>, signature: Signature): unknown {
  return {
    id: "quickstart-1",
    inputs: Object.entries(record).map(([name, value]) => {
      const type = signature.inputs.find((c) => c.name === name)?.type;
      return {
        name,
        shape: [1],
        datatype: type !== undefined ? OIP_TYPES[type] : typeof value === "string" ? "BYTES" : "INT64",
        data: [value],
      };
    }),
  };
}
