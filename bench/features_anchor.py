"""pandas merge_asof anchor for keel's historical retrieval benchmark.

Reads the entity and feature CSVs, joins each entity row to the latest feature row of the same
entity at or before its time and no older than the tolerance, writes the training set as CSV, and
prints JSON with the whole run's seconds and the number of rows that got features.
"""
import json
import sys
import time

t0 = time.perf_counter()
import pandas as pd  # noqa: E402  (imports count: the whole process is timed)

entities_path, features_path, out_path, ttl_seconds = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
entities = pd.read_csv(entities_path, parse_dates=["event_timestamp"])
features = pd.read_csv(features_path, parse_dates=["event_timestamp"])
entities["_row"] = range(len(entities))
left = entities.sort_values("event_timestamp", kind="stable")
right = features.sort_values("event_timestamp", kind="stable")
joined = pd.merge_asof(
    left,
    right,
    on="event_timestamp",
    by="applicant_id",
    direction="backward",
    tolerance=pd.Timedelta(seconds=ttl_seconds),
)
joined = joined.sort_values("_row").drop(columns="_row")
joined.to_csv(out_path, index=False)
print(json.dumps({"seconds": time.perf_counter() - t0, "matched": int(joined["f0"].notna().sum())}))
