"""Experiment report benchmark: `adsx experiment analyze` against the same analysis in Python
(bench/peers/experiment_reference.py: pandas, numpy, scipy, statsmodels) on the same per-user
CSV, alternated runs, medians. Each side is timed as a user runs it: the whole command, from
reading the CSV to printing the JSON report. Their numbers are checked equal (1e-9).

Goals (issue #22): ≤ 2 s for 1M users × 3 arms; ≥ 10× faster than the Python reference.

  .venv/bin/python bench/experiments.py     # BENCH_EXP_USERS=1000000 BENCH_RUNS=3
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from common import ADSX, ROOT, measure, table, write_result

USERS = int(os.environ.get("BENCH_EXP_USERS", "1000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
REFERENCE = ROOT / "bench" / "peers" / "experiment_reference.py"


def write_users(path: Path, users: int, seed: int = 1) -> None:
    """One row per user of a three-arm test with a pre-period (CUPED's covariate)."""
    rng = np.random.default_rng(seed)
    arm = rng.choice(np.array(["A", "B", "C"]), size=users)
    activity = rng.gamma(2, 0.5, users)
    ctr = rng.beta(2, 48, users) * np.where(arm == "B", 1.03, 1.0)
    imps = rng.poisson(20 * activity)
    clicks = rng.binomial(imps, ctr)
    conv = rng.binomial(clicks, 0.1)
    revenue = np.round(conv * rng.lognormal(3, 1, users), 4)
    pre_imps = rng.poisson(20 * activity)
    pre_clicks = rng.binomial(pre_imps, ctr)
    pre_conv = rng.binomial(pre_clicks, 0.1)
    pre_rev = np.round(pre_conv * rng.lognormal(3, 1, users), 4)
    with path.open("w") as f:
        f.write("user,arm,impressions,clicks,conversions,revenue,pre_impressions,pre_clicks,"
                "pre_conversions,pre_revenue\n")  # fmt: skip
        for i in range(users):
            f.write(f"K1:{i:012x},{arm[i]},{imps[i]},{clicks[i]},{conv[i]},{revenue[i]},"
                    f"{pre_imps[i]},{pre_clicks[i]},{pre_conv[i]},{pre_rev[i]}\n")  # fmt: skip


def agree(ours: dict, theirs: dict) -> float:
    """The largest relative difference over every metric's lift, p-values and intervals."""
    worst = 0.0
    for o, t in zip(ours["metrics"], theirs["metrics"], strict=True):
        for k in ("lift", "lift_std_error", "p_adjusted", "always_valid_p", "mde"):
            a, b = o[k], t[k]
            if a is not None and b is not None and b == b:
                worst = max(worst, abs(a - b) / max(abs(b), 1e-300))
    return worst


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "users.csv"
        print(f"writing {USERS:,} users x 3 arms to {csv} ...", flush=True)
        write_users(csv, USERS)
        size_mb = csv.stat().st_size / 2**20
        runs = []
        for i in range(RUNS):
            o = measure([ADSX, "experiment", "analyze", "--input", str(csv), "--format", "json"])
            t = measure([sys.executable, str(REFERENCE), str(csv)])
            worst = agree(json.loads(o.stdout), json.loads(t.stdout))
            runs.append({"ours_s": o.wall_s, "ours_rss_mb": o.peak_rss_mb, "python_s": t.wall_s,
                         "python_rss_mb": t.peak_rss_mb, "max_rel_diff": worst})  # fmt: skip
            print(f"run {i + 1}/{RUNS}: ours {o.wall_s:.2f} s, python {t.wall_s:.2f} s, "
                  f"numbers differ by at most {worst:.1e}", flush=True)  # fmt: skip
    med = {k: float(np.median([r[k] for r in runs])) for k in runs[0]}
    ratio = med["python_s"] / med["ours_s"]
    print()
    print(table(["users", "CSV MB", "ours s", "python s", "python / ours", "ours RSS MB",
                 "python RSS MB", "max rel diff", "goal"],
                [[f"{USERS:,}", f"{size_mb:.0f}", f"{med['ours_s']:.2f}", f"{med['python_s']:.2f}",
                  f"{ratio:.1f}x", f"{med['ours_rss_mb']:.0f}", f"{med['python_rss_mb']:.0f}",
                  f"{max(r['max_rel_diff'] for r in runs):.1e}",
                  "<= 2 s and >= 10x"]]))  # fmt: skip
    path = write_result("experiments", {"users": USERS, "arms": 3, "csv_mb": size_mb,
                                        "runs": runs, "median": med, "ratio": ratio,
                                        "goal_met": med["ours_s"] <= 2 and ratio >= 10})  # fmt: skip
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
