#!/usr/bin/env python3
"""XGBoost `hist` anchor for bench/training.ts, as ../shared/anchors/anchors.py trains it.
usage: training_anchor.py DATA.csv TRAIN_ROWS TREES NTHREAD   → one JSON line {seconds, auc, version, peak_rss_mib}"""
import sys, time, json, resource
import numpy as np, pandas as pd
import xgboost as xgb
from sklearn.metrics import roc_auc_score

path, n, trees, nt = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
NUM = ["credit_score", "annual_income", "debt_to_income_ratio", "loan_amount", "num_delinquencies_12m", "employment_years", "loan_term"]
df = pd.read_csv(path)
X = df[NUM].copy()
for c in ["home_ownership", "purpose"]:
    X = X.join(pd.get_dummies(df[c], prefix=c, dtype=float))
y = df["default"].values
test = slice(n, min(len(df), n + 200000))
dtrain = xgb.DMatrix(X.iloc[:n], y[:n], nthread=nt)
t = time.perf_counter()
b = xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 5, "eta": 0.05, "subsample": 0.8,
               "nthread": nt, "eval_metric": "auc"}, dtrain, num_boost_round=trees)
el = time.perf_counter() - t
p = b.predict(xgb.DMatrix(X.iloc[test], nthread=nt))
print(json.dumps({"seconds": el, "auc": float(roc_auc_score(y[test], p)), "version": xgb.__version__,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
