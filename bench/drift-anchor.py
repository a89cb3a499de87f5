#!/usr/bin/env python3
"""The scipy + numpy side of bench/drift.ts: the drift part of ../shared/anchors/anchors.py on the
same two CSVs (loading not timed), run 3 times. Prints one JSON object: the median seconds and
every number computed."""
import sys, time, json
import numpy as np, pandas as pd
from scipy import stats

NUM = ["credit_score", "annual_income", "debt_to_income_ratio", "loan_amount", "num_delinquencies_12m", "employment_years", "loan_term"]
CAT = ["home_ownership", "purpose", "region"]
ref = pd.read_csv(sys.argv[1]); cur = pd.read_csv(sys.argv[2])


def psi(a, b, bins=10):
    a = a[~np.isnan(a)]; b = b[~np.isnan(b)]
    edges = np.unique(np.quantile(a, np.linspace(0, 1, bins + 1))); edges[0], edges[-1] = -np.inf, np.inf
    pa = np.histogram(a, edges)[0] / len(a); pb = np.histogram(b, edges)[0] / len(b)
    pa = np.clip(pa, 1e-4, None); pb = np.clip(pb, 1e-4, None)
    return float(np.sum((pb - pa) * np.log(pb / pa)))


def drift():
    res = {}
    for c in NUM:
        a = ref[c].to_numpy(float); b = cur[c].to_numpy(float)
        ks = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)])
        res[c] = {"statistic": float(ks.statistic), "p_value": float(ks.pvalue), "psi": psi(a, b)}
    for c in CAT:
        ct = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref[c].values, cur[c].values])
        r = stats.chi2_contingency(ct)
        res[c] = {"statistic": float(r[0]), "p_value": float(r[1])}
    return res


times = []
for _ in range(3):
    t = time.perf_counter(); res = drift(); times.append(time.perf_counter() - t)
print(json.dumps({"seconds": sorted(times)[1], "detail": res}))
