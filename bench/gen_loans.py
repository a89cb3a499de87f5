#!/usr/bin/env python3
# The loan-application generator the anchor figures are measured on (keel anchors, gen_loans.py), kept
# here so benchmarks generate the same data without anything outside the repository.
"""Deterministic synthetic loan-application data for side-by-side benchmarks.
usage: gen_loans.py ROWS OUT.csv [--drift MONTHS] [--seed N]
Columns mirror the seed article's loan-default model; --drift shifts the population
(lower credit scores, higher debt-to-income) as in its six-month drift scenario."""
import sys, argparse
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("rows", type=int); p.add_argument("out")
p.add_argument("--drift", type=float, default=0.0); p.add_argument("--seed", type=int, default=7)
a = p.parse_args()
r = np.random.default_rng(a.seed)
n = a.rows
d = a.drift / 6.0
credit = np.clip(r.normal(690 - 35 * d, 60 + 10 * d, n), 300, 850).round()
income = np.round(np.exp(r.normal(11.0, 0.5, n)), 2)
dti = np.clip(r.beta(2 + 1.2 * d, 5, n), 0, 1).round(4)
amount = np.round(np.clip(income * r.uniform(0.05, 0.6, n), 1000, None), 2)
delinq = r.poisson(0.3 + 0.4 * d, n)
emp = np.clip(r.exponential(6, n), 0, 40).round(1)
term = r.choice([36, 60], n, p=[0.7, 0.3])
home = r.choice(["RENT", "OWN", "MORTGAGE"], n, p=[0.4, 0.15, 0.45])
purpose = r.choice(["debt_consolidation", "credit_card", "home_improvement", "small_business", "car", "other"], n,
                   p=[0.45, 0.2, 0.1, 0.05, 0.1, 0.1])
region = r.choice(["north", "south", "east", "west"], n)
z = (-2.2 - 0.012 * (credit - 690) + 3.0 * (dti - 0.3) + 0.45 * delinq + 0.35 * (term == 60)
     + 0.5 * (purpose == "small_business") - 0.03 * emp + 0.4 * np.log(amount / income + 0.05)
     + 0.15 * (home == "RENT") + r.normal(0, 0.6, n))
default = (r.uniform(0, 1, n) < 1 / (1 + np.exp(-z))).astype(int)
# a few nulls in a nullable column, as real feeds have
emp_s = emp.astype(object); emp_s[r.uniform(0, 1, n) < 0.01] = ""
with open(a.out, "w") as f:
    f.write("applicant_id,credit_score,annual_income,debt_to_income_ratio,loan_amount,num_delinquencies_12m,employment_years,loan_term,home_ownership,purpose,region,default\n")
    for i in range(n):
        f.write(f"A{i:08d},{int(credit[i])},{income[i]},{dti[i]},{amount[i]},{delinq[i]},{emp_s[i]},{term[i]},{home[i]},{purpose[i]},{region[i]},{default[i]}\n")
print(f"{n} rows, default rate {default.mean():.3f} -> {a.out}", file=sys.stderr)
