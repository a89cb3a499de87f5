import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import { parseFilter, parseOrderBy } from "../../src/tracking/filter.js";
import { decodePageToken, encodePageToken } from "../../src/tracking/page-token.js";
import { isNewer } from "../../src/tracking/validate.js";

describe("parseFilter (MLflow's search grammar)", () => {
  it("parses comparisons on every entity joined by AND, any case", () => {
    expect(
      parseFilter(
        "metrics.auc >= 0.8 AND params.model = 'gbdt' and tags.team != \"risk\" And attributes.status = 'FINISHED'",
      ),
    ).toEqual([
      { entity: "metric", key: "auc", op: ">=", value: 0.8 },
      { entity: "param", key: "model", op: "=", value: "gbdt" },
      { entity: "tag", key: "team", op: "!=", value: "risk" },
      { entity: "attribute", key: "status", op: "=", value: "FINISHED" },
    ]);
  });

  it("accepts MLflow's entity synonyms, quoted keys, and keys with dots, slashes and colons", () => {
    expect(
      parseFilter("metric.`val loss` < 1e-3 and param.\"lr\" = '0.1' and tag.mlflow.source/name:x like '%a'"),
    ).toEqual([
      { entity: "metric", key: "val loss", op: "<", value: 0.001 },
      { entity: "param", key: "lr", op: "=", value: "0.1" },
      { entity: "tag", key: "mlflow.source/name:x", op: "LIKE", value: "%a" },
    ]);
    expect(parseFilter("run.start_time > -5")).toEqual([
      { entity: "attribute", key: "start_time", op: ">", value: -5 },
    ]);
    expect(parseFilter("name ILIKE '%Risk%'")).toEqual([
      { entity: "attribute", key: "name", op: "ILIKE", value: "%Risk%" },
    ]);
  });

  it("parses IN and NOT IN lists and escaped quotes", () => {
    expect(parseFilter("params.model IN ('a', 'b''c') and attributes.run_id not in ('x')")).toEqual([
      { entity: "param", key: "model", op: "IN", value: ["a", "b'c"] },
      { entity: "attribute", key: "run_id", op: "NOT IN", value: ["x"] },
    ]);
  });

  it("treats an empty filter as no condition", () => {
    expect(parseFilter(undefined)).toEqual([]);
    expect(parseFilter("   ")).toEqual([]);
  });

  it("refuses malformed filters, naming the filter and the position", () => {
    const cases: [string, string][] = [
      ["metrics.auc > 0.8 or params.a = 'b'", "OR is not supported"],
      ["metrics.auc 0.8", "expected a comparison operator"],
      ["metrics.auc >", "expected a value"],
      ["params.a = 'open", "unterminated"],
      ["params.a IN 'x'", "parenthesised list"],
      ["params.a IN ('x' 'y')", "expected , or )"],
      ["metrics.auc > 1 params.a = 'b'", "expected AND"],
      ["params.a = 'x' and", "expected a key"],
      ["params.a ~ 'x'", "unexpected character"],
    ];
    for (const [filter, rule] of cases) {
      let err: unknown;
      try {
        parseFilter(filter);
      } catch (e) {
        err = e;
      }
      expect(err, filter).toBeInstanceOf(InvalidParameterError);
      expect((err as Error).message, filter).toContain(rule);
      expect((err as Error).message, filter).toContain(JSON.stringify(filter));
    }
  });
});

describe("parseOrderBy", () => {
  it("reads the key and the direction (ascending by default)", () => {
    expect(parseOrderBy("metrics.auc DESC")).toEqual({ entity: "metric", key: "auc", ascending: false });
    expect(parseOrderBy("attributes.start_time")).toEqual({ entity: "attribute", key: "start_time", ascending: true });
    expect(parseOrderBy("params.`my param` asc")).toEqual({ entity: "param", key: "my param", ascending: true });
    expect(() => parseOrderBy("metrics.auc sideways")).toThrow(InvalidParameterError);
    expect(() => parseOrderBy("")).toThrow(InvalidParameterError);
  });
});

describe("page tokens and the latest-metric rule", () => {
  it("round-trips offsets and refuses foreign tokens", () => {
    expect(decodePageToken(encodePageToken(300))).toBe(300);
    expect(decodePageToken(undefined)).toBe(0);
    expect(() => decodePageToken("bm9wZQ==")).toThrow(InvalidParameterError);
    expect(() => decodePageToken(Buffer.from('{"offset":-1}').toString("base64"))).toThrow(InvalidParameterError);
  });

  it("orders by step, then timestamp, then value", () => {
    expect(isNewer({ step: 2, timestamp: 0, value: 0 }, { step: 1, timestamp: 9, value: 9 })).toBe(true);
    expect(isNewer({ step: 1, timestamp: 5, value: 0 }, { step: 1, timestamp: 4, value: 9 })).toBe(true);
    expect(isNewer({ step: 1, timestamp: 4, value: 3 }, { step: 1, timestamp: 4, value: 2 })).toBe(true);
    expect(isNewer({ step: 1, timestamp: 4, value: 2 }, { step: 1, timestamp: 4, value: 2 })).toBe(false);
  });
});
