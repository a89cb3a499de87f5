/** A seeded uniform generator on [0, 1) (mulberry32: 32-bit state, fast, reproducible across platforms). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw (Box–Muller; 1 − u keeps the logarithm finite). */
export function normalDraw(uniform: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

/** A Gamma(shape, 1) draw (Marsaglia–Tsang; shape < 1 through the u^(1/shape) boost). */
export function gammaDraw(uniform: () => number, shape: number): number {
  if (shape < 1) return gammaDraw(uniform, shape + 1) * Math.pow(1 - uniform(), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normalDraw(uniform);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - uniform();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** A Beta(a, b) draw as X / (X + Y) of two gamma draws. */
export function betaDraw(uniform: () => number, a: number, b: number): number {
  const x = gammaDraw(uniform, a);
  return x / (x + gammaDraw(uniform, b));
}

/** A Poisson(mean) draw (Knuth's product of uniforms; for the small means data generators use). */
export function poissonDraw(uniform: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = uniform();
  while (p > limit) {
    k++;
    p *= uniform();
  }
  return k;
}

/** The index drawn from the discrete distribution `p` (probabilities summing to 1). */
export function choiceDraw(uniform: () => number, p: readonly number[]): number {
  const r = uniform();
  let acc = 0;
  for (let k = 0; k < p.length; k++) {
    acc += p[k] as number;
    if (r < acc) return k;
  }
  return p.length - 1;
}
