/**
 * Special functions behind keel's p-values: log-gamma, the regularised upper incomplete gamma
 * (χ² survival), and the Kolmogorov–Smirnov distributions scipy uses (`kstwo`, `smirnov`).
 * The KS functions follow scipy 1.10's `scipy/stats/_ksstats.py` and cephes `kolmogorov.c`
 * branch for branch (Simard & L'Ecuyer's choice of algorithm), in double precision where scipy
 * uses double-double; the difference is far below the 1e-6 relative tolerance keel promises.
 */

const LOG_SQRT_2PI = 0.9189385332046727;
const SQRT_2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const EPS = 2.220446049250313e-16;
/** cephes MINLOG: log(2^-1022), below which exp() underflows. */
const MINLOG = -708.3964185322641;

/** Bernoulli-number coefficients of Stirling's series, B_{2j}/(2j(2j-1)), highest order first. */
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417, -0.0005952380952380953,
  0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

function stirlingTail(x: number): number {
  const r = 1 / (x * x);
  let s = 0;
  for (const c of STIRLING) s = s * r + c;
  return s / x;
}

/** log Γ(x) for x > 0, to about 1e-15 relative: shift to x ≥ 15, then Stirling's series. */
export function logGamma(x: number): number {
  if (!(x > 0)) return Number.NaN;
  let shift = 0;
  let y = x;
  let prod = 1;
  while (y < 15) {
    prod *= y;
    y += 1;
    // Keep the running product finite for tiny x.
    if (prod > 1e280 || prod < 1e-280) {
      shift += Math.log(prod);
      prod = 1;
    }
  }
  shift += Math.log(prod);
  return (y - 0.5) * Math.log(y) - y + LOG_SQRT_2PI + stirlingTail(y) - shift;
}

/**
 * Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a): the power series for P when
 * x < a + 1 (then Q = 1 − P, which is never tiny there), Lentz's continued fraction otherwise.
 */
export function gammaincc(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let k = 1; k < 100000; k++) {
      term *= x / (a + k);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) break;
    }
    return 1 - sum * Math.exp(logPrefix);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 100000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) break;
  }
  return Math.exp(logPrefix) * h;
}

/** χ² survival function with k degrees of freedom, as `scipy.stats.chi2.sf(x, k)`. */
export function chi2Sf(x: number, k: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  return gammaincc(k / 2, x / 2);
}

/** numpy's `np.round`: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function clip01(p: number): number {
  return p < 0 ? 0 : p > 1 ? 1 : p;
}

/**
 * One-sided Smirnov survival Pr(D⁺ₙ ≥ x) (cephes `smirnov`): Birnbaum–Tingey's lower sum, or the
 * short upper sum for tiny x, with the same early-termination rule; terms are summed in log space.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const nx = n * x;
  const nxfl = Math.floor(nx);
  const alpha = nx - nxfl;
  let n1mxfl = n - nxfl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - nxfl;
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    return 1 - x * Math.pow(1 + x, n - 1);
  }
  if (-2 * n * x * x < MINLOG) return 0;
  if (nxfl >= n - 1) return Math.pow(1 - x, n);
  if (n > 1000000) {
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp);
  }
  const nUpperTerms = n - n1mxceil + 1;
  const useUpper = (nUpperTerms <= 1 && x < 0.5) || (n >= 10 && nUpperTerms <= 3 && x <= 0.5 / Math.sqrt(n));
  if (useUpper) {
    // At most three terms, v = n, n−1, n−2; the base 1 − x − v/n is negative, so use pow directly.
    let sum = 0;
    let binom = 1;
    for (let j = 0; j < nUpperTerms; j++) {
      const v = n - j;
      sum += binom * Math.pow((n - v) / n - x, n - v) * Math.pow(x + v / n, v - 1);
      binom *= (n - j) / (j + 1);
    }
    return clip01(1 - x * sum);
  }
  const nTerms = n1mxfl + 1;
  const vmid = Math.floor(n / 2);
  let logC = 0;
  let sum = Math.exp(n * Math.log1p(-x)) / x;
  for (let j = 1; j < nTerms; j++) {
    logC += Math.log((n - j + 1) / j);
    const base = (n - j) / n - x;
    const term = Math.exp(logC + (n - j) * Math.log(base) + (j - 1) * Math.log(x + j / n));
    if (Number.isFinite(term)) sum += term;
    if (term !== 0) {
      if (4 * (nTerms - j) * Math.abs(term) < EPS * sum && j !== nTerms - 1) break;
    } else if (j > vmid) {
      break;
    }
  }
  return clip01(x * sum);
}

function logNFactorialDivNPowN(n: number): number {
  const rn = 1 / n;
  const r = rn / n;
  let s = 0;
  for (const c of STIRLING) s = s * r + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * s;
}

const EP128 = Math.pow(2, 128);
const EM128 = Math.pow(2, -128);

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k]!;
      if (aik === 0) continue;
      const bo = k * m;
      const oo = i * m;
      for (let j = 0; j < m; j++) out[oo + j]! += aik * b[bo + j]!;
    }
  }
  return out;
}

/** Pr(Dₙ ≤ d) by Durbin's matrix method as Marsaglia–Tsang–Wang evaluate it. */
function kolmognDMTW(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  let H = new Float64Array(m * m);
  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - Math.pow(h, j)) * fac;
  }
  const tt = Math.pow(Math.max(2 * h - 1, 0), m) - 2 * Math.pow(h, m);
  v[m - 1] = (1 + tt) * fac;
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) H[r * m + i] = w[r - i + 1]!;
  }
  for (let r = 0; r < m; r++) H[r * m] = v[r]!;
  for (let c = 0; c < m; c++) H[(m - 1) * m + c] = v[m - 1 - c]!;

  let Hpwr = new Float64Array(m * m);
  for (let i = 0; i < m; i++) Hpwr[i * m + i] = 1;
  let nn = n;
  let expnt = 0;
  let Hexpnt = 0;
  while (nn > 0) {
    if (nn % 2) {
      Hpwr = matmul(Hpwr, H, m);
      expnt += Hexpnt;
    }
    H = matmul(H, H, m);
    Hexpnt *= 2;
    if (Math.abs(H[(k - 1) * m + (k - 1)]!) > EP128) {
      for (let i = 0; i < H.length; i++) H[i]! /= EP128;
      Hexpnt += 128;
    }
    nn = Math.floor(nn / 2);
  }
  let p = Hpwr[(k - 1) * m + (k - 1)]!;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      expnt -= 128;
    }
  }
  if (expnt !== 0) p = p * Math.pow(2, expnt);
  return clip01(p);
}

function pomeranzJ1J2(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const ip1div2 = Math.floor((i + 1) / 2);
    const ip1mod2 = (i + 1) % 2;
    if (ip1mod2 === 0) {
      if (ip1div2 === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = ip1div2 - 1 - ll - roundf - 1;
        j2 = ip1div2 + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = ip1div2 - 1 - ll - 1;
      j2 = ip1div2 + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** Pr(Dₙ ≤ x) by Pomeranz's recursion. */
function kolmognPomeranz(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const npwrs = 2 * (ll + 1);
  const gpower = new Float64Array(npwrs);
  const twogpower = new Float64Array(npwrs);
  const onem2gpower = new Float64Array(npwrs);
  gpower[0] = 1;
  twogpower[0] = 1;
  onem2gpower[0] = 1;
  let expnt = 0;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < npwrs; m++) {
    gpower[m] = (gpower[m - 1]! * gOverN) / m;
    twogpower[m] = (twogpower[m - 1]! * twoGOverN) / m;
    onem2gpower[m] = (onem2gpower[m - 1]! * oneMinusTwoGOverN) / m;
  }
  let V0 = new Float64Array(npwrs);
  let V1 = new Float64Array(npwrs);
  V1[0] = 1;
  let V0s = 0;
  let V1s = 0;
  let [j1, j2] = pomeranzJ1J2(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    const tmp = V0;
    V0 = V1;
    V1 = tmp;
    const tmps = V0s;
    V0s = V1s;
    V1s = tmps;
    V1.fill(0);
    [j1, j2] = pomeranzJ1J2(i, n, ll, ceilf, roundf);
    const pwrs = i === 1 || i === 2 * n + 1 ? gpower : i % 2 ? twogpower : onem2gpower;
    const ln2 = j2 - k1 + 1;
    if (ln2 > 0) {
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      const off = k1 - V0s;
      // Entries convStart … convStart+convLen−1 of the full convolution of V0[off:off+ln2] with pwrs[:ln2].
      let vmax = 0;
      for (let c = 0; c < convLen; c++) {
        const idx = convStart + c;
        let s = 0;
        const lo = Math.max(0, idx - (ln2 - 1));
        const hi = Math.min(idx, ln2 - 1);
        for (let a = lo; a <= hi; a++) s += V0[off + a]! * pwrs[idx - a]!;
        V1[c] = s;
        if (s > vmax) vmax = s;
      }
      if (vmax > 0 && vmax < EM128) {
        for (let c = 0; c < convLen; c++) V1[c]! *= EP128;
        expnt -= 128;
      }
      V1s = V0s + j1 - k1;
    }
  }
  let ans = V1[n - V1s]!;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(ans) > EP128) {
      ans *= EM128;
      expnt += 128;
    }
    ans *= m;
  }
  if (expnt !== 0) ans = ans * Math.pow(2, expnt);
  return clip01(ans);
}

/** Pelz–Good's approximation to Pr(Dₙ ≤ x). */
function kolmognPelzGood(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z3 = z2 * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const qlog = -(Math.PI * Math.PI) / 8 / z2;
  if (qlog < -708) return 0;
  const q = Math.exp(qlog);
  const pi2 = Math.PI * Math.PI;
  const pi4 = pi2 * pi2;
  const pi6 = pi4 * pi2;
  const k1a = -z2;
  const k1b = pi2 / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * pi2) / 4;
  const k2c = (pi4 * (1 - 2 * z2)) / 16;
  const k3d = (pi6 * (5 - 30 * z2)) / 64;
  const k3c = (pi4 * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (pi2 * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * Math.pow(z, 8);
  let K0 = 0;
  let K1 = 0;
  let K2 = 0;
  let K3 = 0;
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qpower = Math.pow(q, 8 * k);
    K0 = K0 * qpower + 1;
    K1 = K1 * qpower + (k1a + k1b * m2);
    K2 = K2 * qpower + (k2a + k2b * m2 + k2c * m4);
    K3 = K3 * qpower + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
  }
  const scale = q * SQRT_2PI;
  K0 = (K0 * scale) / z;
  K1 = (K1 * scale) / (6 * z4);
  K2 = (K2 * scale) / (72 * Math.pow(z, 7));
  K3 = (K3 * scale) / (6480 * Math.pow(z, 10));
  const q2 = Math.exp(-pi2 / 2 / z2);
  const sqrt3z = Math.sqrt(3) * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const ks2 = k * k;
    const qp = Math.pow(q2, ks2);
    const kspi = Math.PI * k;
    k2extra += ks2 * qp;
    k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
  }
  K2 += (k2extra * pi2 * SQRT_2PI) / (-36 * z3);
  K3 += (k3extra * pi2 * SQRT_2PI) / (216 * z6);
  return K0 + K1 / Math.sqrt(n) + K2 / n + K3 / Math.pow(n, 1.5);
}

/**
 * Survival function of the two-sided one-sample KS statistic, Pr(Dₙ ≥ x), as
 * `scipy.stats.kstwo.sf(x, n)` (Simard & L'Ecuyer's algorithm selection, scipy's cut-offs).
 */
export function kstwoSf(x: number, n: number): number {
  if (!(n >= 1) || Math.floor(n) !== n || Number.isNaN(x)) return Number.NaN;
  if (x <= 0.5 / n) return 1;
  if (x >= 1) return 0;
  const t = n * x;
  if (t <= 1) {
    let prob: number;
    if (n <= 140) {
      prob = 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * (2 * t - 1);
    } else {
      prob = Math.exp(logNFactorialDivNPowN(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * Math.pow(1 - x, n));
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nxsquared = t * x;
  if (n <= 140) {
    if (nxsquared <= 0.754693) return clip01(1 - kolmognDMTW(n, x));
    if (nxsquared <= 4) return clip01(1 - kolmognPomeranz(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nxsquared >= 370) return 0;
  if (nxsquared >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nxsquared >= 18) cdf = 1;
  else if (n <= 100000 && n * Math.pow(x, 1.5) <= 1.4) cdf = kolmognDMTW(n, x);
  else cdf = kolmognPelzGood(n, x);
  return clip01(1 - cdf);
}
