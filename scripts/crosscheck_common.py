"""What the two cross-checks (crosscheck_duckdb.py, crosscheck_spark.py) share: how a
recomputed statistic is compared with the report's stats.json."""
import json
import sys

TOLERANCE = 1e-5  # stats.json rounds to six decimals
# Families whose every key in stats.json an engine must have recomputed too.
COMPLETE = ("soc.top", "cpu.uarch_share.", "cpu.design_year_share.", "gpu.api_share.", "abi.", "energy.")


def compare(theirs: dict, ours: dict, engine: str) -> int:
    """Print one line per statistic `engine` recomputed (`theirs`) against stats.json
    (`ours`); return how many disagree."""
    bad = 0
    for key in sorted(theirs):
        want = theirs[key]
        got = ours.get(key)
        if want is None:
            continue
        agree = isinstance(got, (int, float)) and abs(got - want) <= TOLERANCE * max(1.0, abs(want))
        bad += not agree
        print(f"{'ok  ' if agree else 'DIFF'} {key:40s} {engine.lower()}={want:.6f} stats.json={got}")
    for key in ours:
        if key.startswith(COMPLETE) and key not in theirs:
            print(f"DIFF {key:40s} in stats.json but not found by {engine}")
            bad += 1
    return bad


def arguments(usage: str):
    """DATA_DIR and the stats of REPORT_DIR/stats.json from the command line, or None
    (after printing `usage`) when they are not given."""
    if len(sys.argv) != 3:
        print(usage)
        return None
    data, report = sys.argv[1], sys.argv[2]
    with open(f"{report}/stats.json") as f:
        return data, json.load(f)["stats"]
