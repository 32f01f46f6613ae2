"""The experiment analysis written as an analyst would in Python (pandas, numpy, scipy,
statsmodels): the oracle of tests/integration/test_experiment_stats.py and the peer of
bench/experiments.py. Same inputs and definitions as `adsx experiment analyze`
(src/adsx/experiments/analysis.h): per-user CSV rows, users as the unit, ratio metrics by the
delta method, revenue per user by Welch's test with CUPED, always-valid p-values by the
normal-mixture SPRT, Holm or Benjamini-Hochberg across arms x metrics.

    python bench/peers/experiment_reference.py users.csv > reference.json
"""

from __future__ import annotations

import json
import math
import sys

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

RATIOS = {"ctr": ("clicks", "impressions"), "conversion_rate": ("conversions", "clicks")}
MEANS = {"revenue_per_user": False, "revenue_per_user_capped": True}
METRICS = ["ctr", "conversion_rate", "revenue_per_user", "revenue_per_user_capped"]
COUNTERS = ["impressions", "clicks", "conversions", "revenue"]
PRE = ["pre_" + c for c in COUNTERS]


def ratio(users: pd.DataFrame, num: str, den: str) -> tuple[float, float, float, float]:
    """Σy/Σx and its delta-method standard error; also the users and Σy."""
    x, y = users[den].to_numpy(), users[num].to_numpy()
    n = len(x)
    r = y.sum() / x.sum()
    cov = np.cov(x, y, ddof=1)
    var = (cov[1, 1] - 2 * r * cov[0, 1] + r * r * cov[0, 0]) / (n * x.mean() ** 2)
    return r, math.sqrt(max(var, 0.0)), n, y.sum()


def relative(a: float, a_se: float, b: float, b_se: float) -> tuple[float, float]:
    r = b / a
    return r - 1, abs(r) * math.sqrt((a_se / a) ** 2 + (b_se / b) ** 2)


def msprt(est: float, se: float, tau: float, alpha: float) -> tuple[float, float, float]:
    v, t2 = se * se, tau * tau
    log_ratio = 0.5 * math.log(v / (v + t2)) + est * est * t2 / (2 * v * (v + t2))
    half = math.sqrt(v * (v + t2) / t2 * (math.log((v + t2) / v) - 2 * math.log(alpha)))
    return min(1.0, math.exp(-log_ratio)), est - half, est + half


def look(users: pd.DataFrame, arms: list[str], control: str, has_pre: bool, o: dict) -> list[dict]:
    """Every metric of every treatment arm on the users' totals at one look."""
    z = stats.norm.ppf(1 - o["alpha"] / 2)
    zp = stats.norm.ppf(o["power"])
    cap = np.percentile(users["revenue"], o["cap_percentile"])
    pre_cap = np.percentile(users["pre_revenue"], o["cap_percentile"]) if has_pre else None
    by_arm = {a: users[users["arm"] == a] for a in arms}
    out = []
    for metric in METRICS:
        est, cuped = {}, None
        if metric in RATIOS:
            for a in arms:
                r, se, n, events = ratio(by_arm[a], *RATIOS[metric])
                est[a] = dict(value=r, se=se, n=n, events=events)
        else:
            y = users["revenue"].clip(upper=cap) if MEANS[metric] else users["revenue"]
            adjusted = y
            if has_pre:
                x = (
                    users["pre_revenue"].clip(upper=pre_cap)
                    if MEANS[metric]
                    else users["pre_revenue"]
                )
                cov = np.cov(x, y, ddof=1)
                theta = cov[0, 1] / cov[0, 0] if cov[0, 0] > 0 else 0.0
                adjusted = y - theta * (x - x.mean())
                reduction = cov[0, 1] * theta / cov[1, 1] if cov[1, 1] > 0 else 0.0
                cuped = dict(theta=theta, variance_reduction=reduction)
            for a in arms:
                mask = (users["arm"] == a).to_numpy()
                v = adjusted.to_numpy()[mask]
                est[a] = dict(value=v.mean(), se=math.sqrt(v.var(ddof=1) / len(v)), n=len(v),
                              std=v.std(ddof=1), events=int((y.to_numpy()[mask] != 0).sum()))  # fmt: skip
        c = est[control]
        for a in arms:
            if a == control:
                continue
            t = est[a]
            if metric in RATIOS:
                diff = t["value"] - c["value"]
                se = math.hypot(t["se"], c["se"])
                stat, df = diff / se, None
                p = 2 * stats.norm.sf(abs(stat))
                low, high = diff - z * se, diff + z * se
            else:
                res = stats.ttest_ind_from_stats(t["value"], t["std"], t["n"], c["value"],
                                                 c["std"], c["n"], equal_var=False)  # fmt: skip
                diff, stat, p = t["value"] - c["value"], res.statistic, res.pvalue
                ea, eb = c["se"] ** 2, t["se"] ** 2
                se = math.sqrt(ea + eb)
                df = (ea + eb) ** 2 / (ea**2 / (c["n"] - 1) + eb**2 / (t["n"] - 1))
                q = stats.t.ppf(1 - o["alpha"] / 2, df)
                low, high = diff - q * se, diff + q * se
            lift, lift_se = relative(c["value"], c["se"], t["value"], t["se"])
            enough = min(c["n"], t["n"]) >= o["min_users"] and min(c["events"], t["events"]) >= o["min_events"]  # fmt: skip
            seq = (
                msprt(lift, lift_se, o["tau"], o["alpha"]) if enough else (1.0, math.nan, math.nan)
            )
            out.append(dict(metric=metric, arm=a, control=c["value"], treatment=t["value"],
                            absolute=dict(estimate=diff, std_error=se, statistic=stat, df=df, p=p,
                                          low=low, high=high),
                            lift=lift, lift_std_error=lift_se, lift_low=lift - z * lift_se,
                            lift_high=lift + z * lift_se, always_valid_p=seq[0],
                            sequence_low=seq[1], sequence_high=seq[2],
                            mde=(z + zp) * se / abs(c["value"]), cuped=cuped))  # fmt: skip
    return out


def analyze(df: pd.DataFrame, control: str | None = None, weights: list[float] | None = None,
            **options) -> dict:  # fmt: skip
    o = dict(alpha=0.05, power=0.8, tau=0.05, min_users=100, min_events=50, cap_percentile=99.9,
             correction="holm", srm_alpha=0.001)  # fmt: skip
    o.update(options)
    arms = sorted(df["arm"].unique())
    control = control or arms[0]
    has_pre = all(c in df.columns for c in PRE)
    days = sorted(df["day"].unique()) if "day" in df.columns else [None]
    agg = {c: "sum" for c in COUNTERS} | {"arm": "first"} | ({c: "first" for c in PRE} if has_pre else {})  # fmt: skip
    previous: list[tuple[float, float, float]] = []
    timeline = []
    for day in days:
        rows = df if day is None else df[df["day"] <= day]
        users = rows.groupby("user", sort=False).agg(agg)
        results = look(users, arms, control, has_pre, o)
        for i, r in enumerate(results):
            if i < len(previous):
                p0, lo0, hi0 = previous[i]
                r["always_valid_p"] = min(p0, r["always_valid_p"])
                if not math.isnan(lo0):
                    lo, hi = r["sequence_low"], r["sequence_high"]
                    r["sequence_low"] = lo0 if math.isnan(lo) else max(lo0, lo)
                    r["sequence_high"] = hi0 if math.isnan(hi) else min(hi0, hi)
            if day is not None:
                timeline.append(dict(day=str(day), arm=r["arm"], metric=r["metric"], users=len(users),
                                     lift=r["lift"], low=r["sequence_low"], high=r["sequence_high"],
                                     always_valid_p=r["always_valid_p"],
                                     fixed_horizon_p=r["absolute"]["p"]))  # fmt: skip
        previous = [(r["always_valid_p"], r["sequence_low"], r["sequence_high"]) for r in results]
    method = "holm" if o["correction"] == "holm" else "fdr_bh"
    fixed = [1.0 if math.isnan(r["absolute"]["p"]) else r["absolute"]["p"] for r in results]
    for r, adj in zip(results, multipletests(fixed, method=method)[1], strict=True):
        r["p_adjusted"] = float(adj)
    always = [r["always_valid_p"] for r in results]
    for r, adj in zip(results, multipletests(always, method=method)[1], strict=True):
        r["always_valid_p_adjusted"] = float(adj)
    counts = users.groupby("arm").size().reindex(arms).to_numpy(dtype=float)
    w = np.array(weights if weights else [1.0] * len(arms))
    srm = stats.chisquare(counts, counts.sum() * w / w.sum())
    return dict(control=control, metrics=results, timeline=timeline,
                srm=dict(chi_square=float(srm.statistic), p=float(srm.pvalue),
                         flagged=bool(srm.pvalue < o["srm_alpha"])),
                revenue_cap=float(np.percentile(users["revenue"], o["cap_percentile"])),
                arms=[dict(name=a, users=float(counts[i])) for i, a in enumerate(arms)])  # fmt: skip


def main() -> None:
    df = pd.read_csv(sys.argv[1], dtype={"user": str, "arm": str, "day": str})
    json.dump(analyze(df), sys.stdout, default=float)


if __name__ == "__main__":
    main()
