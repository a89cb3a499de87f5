import { describe, expect, it } from "vitest";
import { InvalidParameterError } from "../../src/errors.js";
import { parseParamSpace, tune, type ParamSpace, type Trial } from "../../src/learn/tuning.js";

/** Branin on [-5, 10] × [0, 15]: three global minima of value 5/(4π) ≈ 0.397887. */
function branin(x: number, y: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (y - b * x * x + c * x - 6) ** 2 + 10 * (1 - t) * Math.cos(x) + 10;
}
const BRANIN_MIN = 0.397887;
const braninSpace: ParamSpace = { x: { type: "float", low: -5, high: 10 }, y: { type: "float", low: 0, high: 15 } };
const braninObjective = (p: Record<string, string | number | boolean>): Promise<number> =>
  Promise.resolve(branin(p.x as number, p.y as number));

function invalid(fn: () => unknown, ...parts: string[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidParameterError);
  for (const p of parts) expect((err as Error).message).toContain(p);
}

describe("parseParamSpace", () => {
  it("accepts float, int (linear and log) and choice parameters", () => {
    const s = parseParamSpace({
      learning_rate: { type: "float", low: 0.01, high: 0.3, log: true },
      max_depth: { type: "int", low: 3, high: 8 },
      min_child_weight: { type: "int", low: 1, high: 64, log: true },
      booster: { type: "choice", values: ["gbdt", "linear", 3, true] },
    });
    expect(s.learning_rate).toEqual({ type: "float", low: 0.01, high: 0.3, log: true });
    expect(s.max_depth).toEqual({ type: "int", low: 3, high: 8 });
    expect(s.booster).toEqual({ type: "choice", values: ["gbdt", "linear", 3, true] });
  });

  it("names the field, the value and the rule", () => {
    invalid(() => parseParamSpace([]), "space", "must be an object");
    invalid(() => parseParamSpace({}), "at least one parameter");
    invalid(() => parseParamSpace({ a: { type: "uniform", low: 0, high: 1 } }), "space.a.type", '"uniform"');
    invalid(() => parseParamSpace({ a: { type: "float", high: 1 } }), "space.a.low", "finite number");
    invalid(() => parseParamSpace({ a: { type: "float", low: 2, high: 1 } }), "space.a.high = 1", "must be > low (2)");
    invalid(() => parseParamSpace({ a: { type: "int", low: 1.5, high: 4 } }), "space.a.low = 1.5", "integer");
    invalid(
      () => parseParamSpace({ a: { type: "float", low: 0, high: 1, log: true } }),
      "space.a.low = 0",
      "log scale",
    );
    invalid(
      () => parseParamSpace({ a: { type: "float", low: 0, high: 1, step: 0.1 } }),
      "space.a.step",
      "unknown field",
    );
    invalid(() => parseParamSpace({ a: { type: "choice", values: [] } }), "space.a.values", "non-empty");
    invalid(() => parseParamSpace({ a: { type: "choice", values: ["x", "x"] } }), "space.a.values[1]", "twice");
    invalid(() => parseParamSpace({ a: { type: "choice", values: [null] } }), "space.a.values[0] = null");
  });
});

describe("tune", () => {
  const mixed: ParamSpace = {
    lr: { type: "float", low: 0.001, high: 0.5, log: true },
    frac: { type: "float", low: 0.2, high: 0.9 },
    depth: { type: "int", low: 2, high: 9 },
    leaves: { type: "int", low: 4, high: 512, log: true },
    kind: { type: "choice", values: ["a", "b", "c"] },
    flag: { type: "choice", values: [true, false] },
  };
  // A smooth objective over every parameter kind, best at lr 0.05, frac 0.6, depth 6, leaves 64, kind "b", flag true.
  const mixedObjective = (p: Record<string, string | number | boolean>): Promise<number> =>
    Promise.resolve(
      -((Math.log10(p.lr as number) - Math.log10(0.05)) ** 2) -
        ((p.frac as number) - 0.6) ** 2 -
        0.05 * ((p.depth as number) - 6) ** 2 -
        0.1 * (Math.log2(p.leaves as number) - 6) ** 2 -
        (p.kind === "b" ? 0 : 1) -
        (p.flag === true ? 0 : 0.5),
    );

  it("keeps every parameter inside its bounds and type, in the random and the TPE phase", async () => {
    const seen: number[] = [];
    const { trials } = await tune(
      mixed,
      (p, trial) => {
        seen.push(trial);
        return mixedObjective(p);
      },
      { trials: 60, direction: "maximize", seed: 3 },
    );
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(trials.map((t) => t.index)).toEqual(seen);
    for (const t of trials) {
      const p = t.params;
      expect(Object.keys(p)).toEqual(["lr", "frac", "depth", "leaves", "kind", "flag"]);
      expect(p.lr).toBeGreaterThanOrEqual(0.001);
      expect(p.lr).toBeLessThanOrEqual(0.5);
      expect(p.frac).toBeGreaterThanOrEqual(0.2);
      expect(p.frac).toBeLessThanOrEqual(0.9);
      expect(Number.isInteger(p.depth) && (p.depth as number) >= 2 && (p.depth as number) <= 9).toBe(true);
      expect(Number.isInteger(p.leaves) && (p.leaves as number) >= 4 && (p.leaves as number) <= 512).toBe(true);
      expect(["a", "b", "c"]).toContain(p.kind);
      expect([true, false]).toContain(p.flag);
    }
    // Both ends of the integer ranges are reachable (the ±0.5 padding), and the TPE phase
    // concentrates on the good choice: "b" is drawn more often after the 10 random trials.
    const depths = new Set(trials.map((t) => t.params.depth));
    expect(depths.size).toBeGreaterThanOrEqual(6);
    const share = (ts: Trial[]): number => ts.filter((t) => t.params.kind === "b").length / ts.length;
    expect(share(trials.slice(10))).toBeGreaterThan(0.6);
    expect(share(trials.slice(10))).toBeGreaterThan(share(trials.slice(0, 10)));
  });

  it("is deterministic for a seed and differs between seeds", async () => {
    const a = await tune(mixed, mixedObjective, { trials: 25, direction: "maximize", seed: 11 });
    const b = await tune(mixed, mixedObjective, { trials: 25, direction: "maximize", seed: 11 });
    const c = await tune(mixed, mixedObjective, { trials: 25, direction: "maximize", seed: 12 });
    expect(b.trials).toEqual(a.trials);
    expect(b.best).toEqual(a.best);
    expect(c.trials.map((t) => t.params)).not.toEqual(a.trials.map((t) => t.params));
  });

  it("reports the earliest best trial for the direction", async () => {
    const values = [3, 1, 5, 1, 5, 2];
    const space: ParamSpace = { a: { type: "float", low: 0, high: 1 } };
    const max = await tune(space, (_p, i) => Promise.resolve(values[i] as number), {
      trials: 6,
      direction: "maximize",
    });
    expect(max.best.index).toBe(2);
    expect(max.best.value).toBe(5);
    const min = await tune(space, (_p, i) => Promise.resolve(values[i] as number), {
      trials: 6,
      direction: "minimize",
    });
    expect(min.best.index).toBe(1);
    expect(min.best).toBe(min.trials[1]);
  });

  it("beats random search on Branin, on average over 20 seeds", async () => {
    // Same budget (50 trials), same seeds; random search is the same sampler with every trial a
    // startup trial. Measured: mean regret TPE 0.165 vs random 0.983 (median 0.062 vs 0.676), and
    // TPE ends better on 20 of 20 seeds.
    const regretTpe: number[] = [];
    const regretRandom: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const a = await tune(braninSpace, braninObjective, { trials: 50, direction: "minimize", seed });
      const b = await tune(braninSpace, braninObjective, {
        trials: 50,
        direction: "minimize",
        seed,
        startupTrials: 50,
      });
      regretTpe.push(a.best.value - BRANIN_MIN);
      regretRandom.push(b.best.value - BRANIN_MIN);
    }
    const mean = (v: number[]): number => v.reduce((s, x) => s + x, 0) / v.length;
    expect(Math.min(...regretTpe)).toBeGreaterThanOrEqual(0);
    expect(mean(regretTpe)).toBeLessThan(0.4 * mean(regretRandom));
    expect(regretTpe.filter((r, i) => r < (regretRandom[i] as number)).length).toBeGreaterThanOrEqual(15);
  });

  it("rejects bad options and a non-finite objective value", async () => {
    const space: ParamSpace = { a: { type: "float", low: 0, high: 1 } };
    const ok = (): Promise<number> => Promise.resolve(1);
    await expect(tune(space, ok, { trials: 0, direction: "maximize" })).rejects.toThrow(
      "trials = 0: must be an integer ≥ 1",
    );
    await expect(tune(space, ok, { trials: 3, direction: "up" as "maximize" })).rejects.toThrow('direction = "up"');
    await expect(tune(space, ok, { trials: 3, direction: "maximize", seed: -1 })).rejects.toThrow("seed = -1");
    await expect(tune(space, ok, { trials: 3, direction: "maximize", startupTrials: 0 })).rejects.toThrow(
      "startupTrials = 0",
    );
    await expect(
      tune({ a: { type: "float", low: 1, high: 0 } }, ok, { trials: 3, direction: "maximize" }),
    ).rejects.toThrow("space.a.high = 0");
    await expect(
      tune(space, (_p, i) => Promise.resolve(i === 2 ? NaN : i), { trials: 5, direction: "maximize" }),
    ).rejects.toThrow("objective(trial 2) = NaN: must return a finite number");
  });
});
