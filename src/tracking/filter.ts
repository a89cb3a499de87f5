import { InvalidParameterError } from "../errors.js";

/**
 * MLflow's search filter grammar: comparisons joined by `and`, e.g.
 * `metrics.auc > 0.8 and params.model = 'gbdt' and tags.\`team name\` LIKE 'risk%'`.
 * Entities: metrics. params. tags. attributes. datasets. (and MLflow's synonyms); a key without
 * an entity prefix is an attribute. Keys may be backticked or double-quoted.
 */
export type FilterEntity = "metric" | "param" | "tag" | "attribute" | "dataset";
export type FilterOp = "=" | "!=" | ">" | ">=" | "<" | "<=" | "LIKE" | "ILIKE" | "IN" | "NOT IN";

export interface Comparison {
  readonly entity: FilterEntity;
  readonly key: string;
  readonly op: FilterOp;
  readonly value: string | number | readonly string[];
}

const ENTITIES: Record<string, FilterEntity> = {
  metric: "metric",
  metrics: "metric",
  param: "param",
  params: "param",
  parameter: "param",
  parameters: "param",
  tag: "tag",
  tags: "tag",
  attribute: "attribute",
  attributes: "attribute",
  attr: "attribute",
  run: "attribute",
  dataset: "dataset",
  datasets: "dataset",
};

type Token =
  | { kind: "ident"; entity: FilterEntity; key: string; at: number }
  | { kind: "op"; op: FilterOp; at: number }
  | { kind: "and"; at: number }
  | { kind: "string"; value: string; at: number }
  | { kind: "number"; value: number; at: number }
  | { kind: "lparen" | "rparen" | "comma"; at: number };

function fail(filter: string, at: number, rule: string): never {
  throw new InvalidParameterError(`filter ${JSON.stringify(filter)}: at position ${at}: ${rule}`, {
    details: { field: "filter", value: filter, position: at },
  });
}

function readQuoted(filter: string, start: number, quote: string): { text: string; end: number } {
  let i = start + 1;
  let text = "";
  while (i < filter.length) {
    const c = filter[i] as string;
    if (c === "\\" && i + 1 < filter.length) {
      text += filter[i + 1];
      i += 2;
      continue;
    }
    if (c === quote) {
      // SQL-style doubled quote inside a string
      if (filter[i + 1] === quote && quote === "'") {
        text += quote;
        i += 2;
        continue;
      }
      return { text, end: i + 1 };
    }
    text += c;
    i++;
  }
  return fail(filter, start, `unterminated ${quote} quote`);
}

const WORD = /[A-Za-z0-9_.\-/:]/;

function tokenize(filter: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "(" || c === ")" || c === ",") {
      out.push({ kind: c === "(" ? "lparen" : c === ")" ? "rparen" : "comma", at });
      i++;
      continue;
    }
    if (c === "'" || (c === '"' && !expectsIdentifier(out))) {
      const q = readQuoted(filter, i, c);
      out.push({ kind: "string", value: q.text, at });
      i = q.end;
      continue;
    }
    const two = filter.slice(i, i + 2);
    if (two === ">=" || two === "<=" || two === "!=" || two === "<>") {
      out.push({ kind: "op", op: two === "<>" ? "!=" : two, at });
      i += 2;
      continue;
    }
    if (c === "=" || c === ">" || c === "<") {
      out.push({ kind: "op", op: c, at });
      i++;
      continue;
    }
    if (/[0-9]/.test(c) || ((c === "-" || c === "+" || c === ".") && /[0-9.]/.test(filter[i + 1] ?? ""))) {
      const m = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(filter.slice(i));
      if (m === null) fail(filter, at, "malformed number");
      out.push({ kind: "number", value: Number(m[0]), at });
      i += m[0].length;
      continue;
    }
    if (c === "`" || c === '"' || WORD.test(c)) {
      // An identifier: [entity.]key, where key may be quoted with backticks or double quotes.
      let word = "";
      while (i < filter.length && WORD.test(filter[i] as string) && filter[i] !== ".") word += filter[i++];
      const lower = word.toLowerCase();
      if (word !== "" && filter[i] !== ".") {
        if (lower === "and") {
          out.push({ kind: "and", at });
          continue;
        }
        if (lower === "or") fail(filter, at, "OR is not supported; MLflow's grammar joins comparisons with AND only");
        if (lower === "like" || lower === "ilike" || lower === "in") {
          out.push({ kind: "op", op: lower === "in" ? "IN" : lower === "like" ? "LIKE" : "ILIKE", at });
          continue;
        }
        if (lower === "not") {
          const rest = /^\s+in\b/i.exec(filter.slice(i));
          if (rest === null) fail(filter, at, "NOT must be followed by IN");
          out.push({ kind: "op", op: "NOT IN", at });
          i += rest[0].length;
          continue;
        }
      }
      let entity: FilterEntity = "attribute";
      let key: string;
      if (word !== "" && filter[i] === "." && ENTITIES[lower] !== undefined) {
        entity = ENTITIES[lower];
        i++;
        const q = filter[i];
        if (q === "`" || q === '"') {
          const r = readQuoted(filter, i, q);
          key = r.text;
          i = r.end;
        } else {
          key = "";
          while (i < filter.length && WORD.test(filter[i] as string)) key += filter[i++];
        }
      } else if (word === "" && (c === "`" || c === '"')) {
        const r = readQuoted(filter, i, c);
        key = r.text;
        i = r.end;
      } else {
        key = word;
        while (i < filter.length && WORD.test(filter[i] as string)) key += filter[i++];
      }
      if (key === "") fail(filter, at, "empty key");
      out.push({ kind: "ident", entity, key, at });
      continue;
    }
    fail(filter, at, `unexpected character ${JSON.stringify(c)}`);
  }
  return out;
}

/** A double quote starts an identifier (a quoted key) where a comparison begins, else a string. */
function expectsIdentifier(tokens: readonly Token[]): boolean {
  const last = tokens[tokens.length - 1];
  return last === undefined || last.kind === "and";
}

/** Parses a filter into comparisons (all must hold). An empty or blank filter is `[]`. */
export function parseFilter(filter: string | undefined): Comparison[] {
  if (filter === undefined || filter.trim() === "") return [];
  const tokens = tokenize(filter);
  const out: Comparison[] = [];
  let i = 0;
  const next = (): Token | undefined => tokens[i++];
  for (;;) {
    const ident = next();
    if (ident?.kind !== "ident")
      fail(filter, ident?.at ?? filter.length, "expected a key such as metrics.auc or params.model");
    const op = next();
    if (op?.kind !== "op") fail(filter, op?.at ?? filter.length, `expected a comparison operator after ${ident.key}`);
    let value: Comparison["value"];
    if (op.op === "IN" || op.op === "NOT IN") {
      const open = next();
      if (open?.kind !== "lparen")
        fail(filter, open?.at ?? filter.length, `${op.op} needs a parenthesised list of strings`);
      const list: string[] = [];
      for (;;) {
        const v = next();
        if (v?.kind !== "string") fail(filter, v?.at ?? filter.length, `${op.op} list items must be quoted strings`);
        list.push(v.value);
        const sep = next();
        if (sep?.kind === "rparen") break;
        if (sep?.kind !== "comma") fail(filter, sep?.at ?? filter.length, "expected , or ) in the list");
      }
      value = list;
    } else {
      const v = next();
      if (v?.kind === "string" || v?.kind === "number") value = v.value;
      else fail(filter, v?.at ?? filter.length, `expected a value after ${op.op}`);
    }
    out.push({ entity: ident.entity, key: ident.key, op: op.op, value });
    const sep = next();
    if (sep === undefined) return out;
    if (sep.kind !== "and") fail(filter, sep.at, "expected AND between comparisons");
  }
}

export interface OrderTerm {
  readonly entity: FilterEntity;
  readonly key: string;
  readonly ascending: boolean;
}

/** Parses one `order_by` entry, e.g. `metrics.auc DESC`, `attributes.start_time`, `name ASC`. */
export function parseOrderBy(text: string): OrderTerm {
  const m = /^\s*(.+?)(?:\s+(asc|desc))?\s*$/i.exec(text);
  const body = m?.[1];
  if (m === null || body === undefined) {
    throw new InvalidParameterError(`order_by ${JSON.stringify(text)}: expected "<key> [ASC|DESC]"`, {
      details: { field: "order_by", value: text },
    });
  }
  let tokens: Token[];
  try {
    tokens = tokenize(body);
  } catch {
    tokens = [];
  }
  const t = tokens[0];
  if (tokens.length !== 1 || t?.kind !== "ident") {
    throw new InvalidParameterError(
      `order_by ${JSON.stringify(text)}: expected one key such as metrics.auc, params.model or attributes.start_time, then ASC or DESC`,
      { details: { field: "order_by", value: text } },
    );
  }
  return { entity: t.entity, key: t.key, ascending: (m[2] ?? "asc").toLowerCase() === "asc" };
}
