#!/usr/bin/python3
"""XGBoost side of keel's scoring benchmark (bench/scoring.ts runs it).
usage: scoring_anchor.py DATA.csv MODEL.json SCORES.f64 ROWS
Trains the loan GBM (300 trees, depth 5, as shared/anchors/anchors.py) into MODEL.json when it is
missing, times inplace_predict on the first ROWS rows at 1 and 2 threads, writes the scores
(float64, little-endian) to SCORES.f64 and prints one JSON line, peak RSS (MiB) included."""
import sys, os, time, json, resource
import numpy as np, pandas as pd
import xgboost as xgb

data, model_path, scores_path, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
NUM = ["credit_score", "annual_income", "debt_to_income_ratio", "loan_amount", "num_delinquencies_12m", "employment_years", "loan_term"]
df = pd.read_csv(data, nrows=max(rows, 800000) if not os.path.exists(model_path) else rows)
X = df[NUM].copy()
for c in ["home_ownership", "purpose"]:
    X = X.join(pd.get_dummies(df[c], prefix=c, dtype=float))
trained = False
if not os.path.exists(model_path):
    cut = min(800000, len(X))
    b = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 5, "eta": 0.05, "subsample": 0.8,
                   "nthread": 2, "seed": 0}, xgb.DMatrix(X.iloc[:cut], df["default"].values[:cut]), num_boost_round=300)
    b.save_model(model_path)
    trained = True
b = xgb.Booster(model_file=model_path)
A = X.iloc[:rows].to_numpy(np.float32)
out = {"xgboost": xgb.__version__, "rows": len(A), "trained": trained}
for nt in (1, 2):
    b.set_param({"nthread": nt})
    b.inplace_predict(A[:1000])  # warm-up
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter(); p = b.inplace_predict(A); best = min(best, time.perf_counter() - t)
    out[f"rows_per_s_{nt}"] = len(A) / best
p.astype("<f8").tofile(scores_path)
out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
