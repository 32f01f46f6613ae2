"""`adsx experiment analyze` equals the Python reference (bench/peers/experiment_reference.py:
scipy's Welch and chi-square, statsmodels' multipletests) to 1e-9 on identical per-user data,
and its delta-method and CUPED numbers equal the formulas written out below; bad input is
refused with exit 1 (data) or 2 (usage). Needs no service."""

from __future__ import annotations

import json
import math
import sys

import pytest
from conftest import SOURCE_DIR, experiment_csv, run_adsx

sys.path.insert(0, str(SOURCE_DIR / "bench" / "peers"))
import experiment_reference  # noqa: E402

RTOL = 1e-9


def analyze(path, *flags) -> dict:
    r = run_adsx("experiment", "analyze", "--input", str(path), "--format", "json", *flags)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def close(ours, ref, what: str) -> None:
    if ref is None or (isinstance(ref, float) and math.isnan(ref)):
        assert ours is None or ours == -1, f"{what}: {ours} vs {ref}"
        return
    assert ours == pytest.approx(ref, rel=RTOL, abs=1e-12), f"{what}: {ours} vs {ref}"


@pytest.mark.parametrize("correction", ["holm", "bh"])
def test_every_number_equals_the_python_reference(tmp_path, correction):
    df = experiment_csv(tmp_path / "u.csv", seed=11)
    ours = analyze(tmp_path / "u.csv", "--correction", correction)
    ref = experiment_reference.analyze(df, correction=correction)
    close(ours["srm"]["chi_square"], ref["srm"]["chi_square"], "srm chi2")
    close(ours["srm"]["p"], ref["srm"]["p"], "srm p")
    close(ours["revenue_cap"], ref["revenue_cap"], "revenue cap")
    assert [a["users"] for a in ours["arms"]] == [a["users"] for a in ref["arms"]]
    assert len(ours["metrics"]) == len(ref["metrics"]) == 8  # 4 metrics x 2 treatment arms
    for o, r in zip(ours["metrics"], ref["metrics"], strict=True):
        key = f"{r['metric']}/{r['arm']}"
        assert (o["metric"], o["arm"]) == (r["metric"], r["arm"])
        for f in ("control", "treatment", "lift", "lift_std_error", "lift_low", "lift_high",
                  "p_adjusted", "always_valid_p", "always_valid_p_adjusted", "sequence_low",
                  "sequence_high", "mde"):  # fmt: skip
            close(o[f], r[f], f"{key} {f}")
        for f in ("estimate", "std_error", "statistic", "p", "low", "high"):
            close(o["absolute"][f], r["absolute"][f], f"{key} absolute.{f}")
        if r["absolute"]["df"] is not None:
            close(o["absolute"]["df"], r["absolute"]["df"], f"{key} df")
        if r["cuped"]:
            close(o["cuped"]["theta"], r["cuped"]["theta"], f"{key} theta")
            close(o["cuped"]["variance_reduction"], r["cuped"]["variance_reduction"], key)
    assert len(ours["timeline"]) == len(ref["timeline"]) == 5 * 8
    for o, r in zip(ours["timeline"], ref["timeline"], strict=True):
        assert (o["day"], o["arm"], o["metric"], o["users"]) == (r["day"], r["arm"], r["metric"], r["users"])  # fmt: skip
        for f in ("lift", "low", "high", "always_valid_p", "fixed_horizon_p"):
            close(o[f], r[f], f"timeline {r['day']} {r['metric']} {f}")


def test_one_row_per_user_without_pre_period_equals_the_reference(tmp_path):
    df = experiment_csv(tmp_path / "days.csv", seed=12, days=3)
    users = df.groupby("user", as_index=False).agg(
        arm=("arm", "first"), impressions=("impressions", "sum"), clicks=("clicks", "sum"),
        conversions=("conversions", "sum"), revenue=("revenue", "sum"))  # fmt: skip
    users.to_csv(tmp_path / "u.csv", index=False)
    ours = analyze(tmp_path / "u.csv")
    ref = experiment_reference.analyze(users)
    assert ours["timeline"] == [] and ref["timeline"] == []
    for o, r in zip(ours["metrics"], ref["metrics"], strict=True):
        assert "cuped" not in o and r["cuped"] is None
        for f in ("lift", "lift_std_error", "p_adjusted", "always_valid_p", "mde"):
            close(o[f], r[f], f"{r['metric']}/{r['arm']} {f}")


def test_delta_method_and_cuped_equal_the_formulas_written_out(tmp_path):
    df = experiment_csv(tmp_path / "u.csv", seed=5, days=1)
    ours = analyze(tmp_path / "u.csv")
    users = df.groupby("user").agg(arm=("arm", "first"), imps=("impressions", "sum"),
                                   clicks=("clicks", "sum"), rev=("revenue", "sum"),
                                   pre=("pre_revenue", "first"))  # fmt: skip

    def ctr(g):  # Var(ΣY/ΣX) ≈ (s_y² − 2R s_xy + R² s_x²) / (n x̄²)
        x, y, n = g.imps.to_numpy(float), g.clicks.to_numpy(float), len(g)
        r = y.sum() / x.sum()
        sx2 = ((x - x.mean()) ** 2).sum() / (n - 1)
        sy2 = ((y - y.mean()) ** 2).sum() / (n - 1)
        sxy = ((x - x.mean()) * (y - y.mean())).sum() / (n - 1)
        return r, math.sqrt((sy2 - 2 * r * sxy + r * r * sx2) / (n * x.mean() ** 2))

    a, b = users[users.arm == "A"], users[users.arm == "B"]
    (ra, sa), (rb, sb) = ctr(a), ctr(b)
    m = next(x for x in ours["metrics"] if x["metric"] == "ctr" and x["arm"] == "B")
    close(m["absolute"]["estimate"], rb - ra, "ctr diff")
    close(m["absolute"]["std_error"], math.sqrt(sa**2 + sb**2), "ctr se")
    close(m["lift"], rb / ra - 1, "ctr lift")
    close(m["lift_std_error"], (rb / ra) * math.sqrt((sa / ra) ** 2 + (sb / rb) ** 2), "lift se")

    # CUPED: θ = cov(Y, X) / var(X) over all users; Y' = Y − θ(X − X̄).
    x, y = users.pre.to_numpy(float), users.rev.to_numpy(float)
    theta = ((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum()
    adj = y - theta * (x - x.mean())
    ya, yb = adj[(users.arm == "A").to_numpy()], adj[(users.arm == "B").to_numpy()]
    m = next(x for x in ours["metrics"] if x["metric"] == "revenue_per_user" and x["arm"] == "B")
    close(m["cuped"]["theta"], theta, "theta")
    close(m["absolute"]["estimate"], yb.mean() - ya.mean(), "cuped diff")
    close(m["absolute"]["std_error"], math.sqrt(ya.var(ddof=1) / len(ya) + yb.var(ddof=1) / len(yb)), "se")  # fmt: skip


def test_a_real_lift_ships_and_a_lost_share_of_an_arm_withholds_the_verdict(tmp_path):
    experiment_csv(tmp_path / "lift.csv", seed=3, users=60_000, days=3, lift_b=0.2)
    r = analyze(tmp_path / "lift.csv", "--control", "A")
    assert not r["srm"]["flagged"]
    assert r["verdict"]["decision"] == "ship" and r["verdict"]["arm"] == "B", r["verdict"]
    experiment_csv(tmp_path / "lost.csv", seed=3, users=60_000, days=3, drop_c=0.05)
    r = analyze(tmp_path / "lost.csv")
    assert r["srm"]["flagged"] and r["srm"]["p"] < 0.001
    assert r["verdict"]["decision"] == "invalid"


def test_out_writes_json_and_markdown(tmp_path):
    experiment_csv(tmp_path / "u.csv", seed=1, users=3000, days=2)
    r = run_adsx("experiment", "analyze", "--input", str(tmp_path / "u.csv"), "--name", "exp-1",
                 "--out", str(tmp_path / "report"))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "exp-1:" in r.stdout
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["experiment"] == "exp-1" and report["correction"] == "holm"
    md = (tmp_path / "report" / "report.md").read_text()
    assert md.startswith("# Experiment exp-1") and "**Verdict:" in md and "| ctr |" in md


def test_bad_input_is_refused_with_a_reason(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user,arm,impressions,clicks,conversions,revenue\nu1,A,3,one,0,0\n")
    r = run_adsx("experiment", "analyze", "--input", str(bad))
    assert r.returncode == 1 and "line 2: column clicks: 'one' is not a number" in r.stderr
    experiment_csv(tmp_path / "u.csv", seed=1, users=500, days=1)
    r = run_adsx("experiment", "analyze", "--input", str(tmp_path / "u.csv"), "--control", "Z")
    assert r.returncode == 2 and "control arm 'Z'" in r.stderr
    r = run_adsx(
        "experiment", "analyze", "--input", str(tmp_path / "u.csv"), "--weights", "A=1,Q=2"
    )
    assert r.returncode == 2 and "'Q'" in r.stderr
    r = run_adsx("experiment", "analyze", "--input", str(tmp_path / "u.csv"), "--alpha", "2")
    assert r.returncode == 2


def test_planned_days_switch_to_the_group_sequential_test(tmp_path):
    """With --planned-days the always-valid p is the group-sequential one: at a single look at
    the end of the horizon it is the fixed test of the relative lift, 2(1 - Phi(|lift / se|));
    looks before the end hold back alpha, so the same data read on day 1 of 2 gives a larger p
    and a wider interval."""
    experiment_csv(tmp_path / "u.csv", seed=7, users=20_000, days=1, lift_b=0.3)
    end = analyze(tmp_path / "u.csv", "--planned-days", "1")
    early = analyze(tmp_path / "u.csv", "--planned-days", "2")
    mixture = analyze(tmp_path / "u.csv")
    assert end["sequential_test"] == "group_sequential" and end["planned_days"] == 1
    assert mixture["sequential_test"] == "mixture_sprt"
    counted = 0
    for e, x in zip(end["metrics"], early["metrics"], strict=True):
        if e["sequence_low"] is None:  # too few events for a look to count (--min-events)
            assert e["always_valid_p"] == 1
            continue
        counted += 1
        z = e["lift"] / e["lift_std_error"]
        fixed = math.erfc(abs(z) / math.sqrt(2))
        assert e["always_valid_p"] == pytest.approx(fixed, rel=2e-3), e["metric"]
        assert e["sequence_low"] == pytest.approx(e["lift_low"], rel=1e-6, abs=1e-9)
        assert x["always_valid_p"] >= e["always_valid_p"]
        assert x["sequence_high"] - x["sequence_low"] > e["sequence_high"] - e["sequence_low"]
    assert counted >= 4
    ctr = next(m for m in end["metrics"] if m["metric"] == "ctr" and m["arm"] == "B")
    assert ctr["always_valid_p"] < 0.05  # the planted 30 % lift
    r = run_adsx(
        "experiment", "analyze", "--input", str(tmp_path / "u.csv"), "--planned-days", "-1"
    )
    assert r.returncode == 2 and "--planned-days" in r.stderr
