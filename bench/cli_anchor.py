#!/usr/bin/python3
"""The pandas side of bench/cli.ts: each subcommand is one whole process, as a user would run a script.
usage: cli_anchor.py drift REF.csv CUR.csv
       cli_anchor.py predict MODEL.json DESIGN.csv OUT.csv
       cli_anchor.py validate SUITE.json DATA.csv
       cli_anchor.py design LOANS.csv MODEL.json OUT.csv   (writes the model's one-hot input columns once)"""
import sys, json
import numpy as np, pandas as pd

NUM = ["credit_score", "annual_income", "debt_to_income_ratio", "loan_amount", "num_delinquencies_12m", "employment_years", "loan_term"]
CAT = ["home_ownership", "purpose", "region"]


def drift(ref_path, cur_path):
    from scipy import stats
    ref = pd.read_csv(ref_path); cur = pd.read_csv(cur_path)
    out = {}
    for c in NUM:
        a = ref[c].to_numpy(float); b = cur[c].to_numpy(float)
        out[c] = float(stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)]).pvalue)
    for c in CAT:
        ct = pd.crosstab(np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref[c].values, cur[c].values])
        out[c] = float(stats.chi2_contingency(ct)[1])
    print(json.dumps(out))


def predict(model_path, design_path, out_path):
    import xgboost as xgb
    b = xgb.Booster(model_file=model_path)
    df = pd.read_csv(design_path)
    scores = b.inplace_predict(df[b.feature_names].to_numpy(np.float32))
    pd.DataFrame({"score": scores}).to_csv(out_path, index=False)


def validate(suite_path, data_path):
    suite = json.load(open(suite_path)); df = pd.read_csv(data_path)
    kinds = {"string": "object", "long": "int64", "double": "float64"}
    failed = []
    for e in suite["expectations"]:
        k = e["expect"]; c = e.get("column"); col = df[c] if c in df else None
        if k == "row_count_between":
            ok = e.get("min", 0) <= len(df) <= e.get("max", float("inf"))
        elif k == "column_exists":
            ok = col is not None
        elif k == "type":
            ok = str(col.dtype) == kinds.get(e["type"], e["type"])
        elif k == "not_null":
            ok = col.isna().mean() <= e.get("maxNullFraction", 0)
        elif k == "unique":
            ok = not col.duplicated().any()
        elif k == "between":
            bad = (col < e["min"]) | (col > e["max"])
            ok = 1 - bad.mean() >= e.get("mostly", 1); rows = list(df.index[bad][:5])
        elif k == "mean_between":
            ok = e["min"] <= col.mean() <= e["max"]
        elif k == "std_between":
            ok = e["min"] <= col.std() <= e["max"]
        elif k == "in_set":
            bad = ~col.isin(e["values"]) & col.notna()
            ok = not bad.any(); rows = list(df.index[bad][:5])
        else:
            raise SystemExit(f"anchor does not implement {k}")
        if not ok:
            failed.append(k)
    print(json.dumps({"expectations": len(suite["expectations"]), "failed": failed}))


def design(loans_path, model_path, out_path):
    import xgboost as xgb
    names = xgb.Booster(model_file=model_path).feature_names
    df = pd.read_csv(loans_path)
    X = df[NUM].copy()
    for c in ["home_ownership", "purpose"]:
        X = X.join(pd.get_dummies(df[c], prefix=c, dtype=float))
    X[names].to_csv(out_path, index=False)


{"drift": drift, "predict": predict, "validate": validate, "design": design}[sys.argv[1]](*sys.argv[2:])
