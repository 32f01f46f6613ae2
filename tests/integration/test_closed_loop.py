"""The closed loop on the real stack: `adsx simulate` drives a running `adsx serve` (an LR arm
against an XGBoost arm of a running experiment) while `adsx experiment collect` counts the events
into PostgreSQL and is SIGKILLed once half-way. Proves that every event the loop sends follows a
decision on ad.serves (same request, same arm, an ad that was served; clicks only of shown ads),
that the stream engine takes every one of them, that the simulator's summary, the topic and
PostgreSQL's per-user totals agree exactly (the kill lost and doubled nothing), and that
`adsx experiment report`'s CTR lift agrees with the lift of the hidden true pCTR of what each arm
served: inside its interval, and of the same sign when the truth is clear of the noise. The
live page /experiments/{name} of `adsx serve`, in headless Chromium, draws the report without a
console error and redraws when new data reaches PostgreSQL."""

import json
import os
import signal
import subprocess
import time
import uuid
from collections import Counter, defaultdict

import pytest
from conftest import (
    ADSX_BIN,
    SOURCE_DIR,
    Service,
    consume,
    delete_topic,
    generated_and_streamed,
    open_report,
    psql,
    run_adsx,
    trained_registry,
)

EVENTS = int(os.environ.get("ADSX_IT_LOOP_EVENTS", "20000"))
DURATION = os.environ.get("ADSX_IT_LOOP_SECONDS", "20")


@pytest.fixture(scope="module")
def world():
    env, _, topics = generated_and_streamed("it.loop", EVENTS, 41)
    env = dict(env, ADSX_KAFKA__SERVES_TOPIC=env["ADSX_KAFKA__EVENTS_TOPIC"] + ".serves")
    yield env
    for t in [*topics, env["ADSX_KAFKA__SERVES_TOPIC"]]:
        delete_topic(t)


@pytest.fixture(scope="module")
def experiment(world, tmp_path_factory):
    """LR against XGBoost: arms lr and xgboost serve the registry's pointers of those names."""
    registry = trained_registry(tmp_path_factory, "--arm-per-family")
    # "0…" sorts before experiments people name (the demo's): the service tries them by name.
    name, layer = f"0-it-loop-{uuid.uuid4().hex[:8]}", f"it-loop-{uuid.uuid4().hex[:8]}"
    for args in (("create", "--name", name, "--arms", "lr,xgboost", "--model-arms", "lr,xgboost",
                  "--layer", layer), ("start", "--name", name)):  # fmt: skip
        r = run_adsx("experiment", *args, env=world)
        assert r.returncode == 0, r.stderr
    yield name, dict(world, ADSX_MODELS__DIR=str(registry))
    run_adsx("experiment", "stop", "--name", name, env=world)


def loop_events(topic: str, name: str) -> list[dict]:
    return [e for e in (json.loads(v) for v in consume(topic, None, "%s\n"))
            if e.get("experiment") == name]  # fmt: skip


def test_the_closed_loop_is_logged_counted_exactly_once_and_reported_truthfully(
    experiment, tmp_path
):
    name, env = experiment
    svc = Service(env)
    summary_file = tmp_path / "summary.json"
    try:
        # The collector runs beside the loop, as it would in production.
        collector = subprocess.Popen([ADSX_BIN, "experiment", "collect"], env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        sim = subprocess.Popen(
            [ADSX_BIN, "simulate", "--duration", DURATION, "--users", "3000", "--concurrency", "3",
             "--time-scale", "600", "--drain", "5", "--json", str(summary_file),
             "--url", f"http://127.0.0.1:{svc.port}"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        time.sleep(float(DURATION) / 2)
        collector.send_signal(signal.SIGKILL)  # half-way, mid-batch or between: nothing may be lost
        collector.wait(timeout=10)
        out, err = sim.communicate(timeout=float(DURATION) + 120)
        assert sim.returncode == 0, out + err[-3000:]
    finally:
        svc.stop()
    print(out)
    summary = json.loads(summary_file.read_text())
    arms = {f"{name}/lr", f"{name}/xgboost"}
    assert arms <= set(summary["arms"]), summary["arms"].keys()
    assert summary["all"]["requests"] >= 1000, summary["all"]
    assert summary["all"]["errors"] <= 0.01 * summary["all"]["requests"], summary["all"]

    # Every event of the loop follows a decision on ad.serves: its request, its arm, a served ad.
    topic = env["ADSX_KAFKA__EVENTS_TOPIC"]
    events = loop_events(topic, name)
    serves = {}
    for v in consume(env["ADSX_KAFKA__SERVES_TOPIC"], None, "%s\n"):
        s = json.loads(v)
        if s["experiment"] and s["experiment"]["name"] == name:
            serves[s["request_id"]] = (
                s["experiment"]["arm"],
                {a["ad_id"] for a in s["ranked_ads"]},
            )
    shown = set()
    counts = defaultdict(Counter)
    revenue = Counter()
    for e in sorted(events, key=lambda e: (e["event_time"], e["event_type"] != "impression")):
        arm, ads = serves[e["request_id"]]
        assert e["arm"] == arm and e["ad_id"] in ads, e
        key = (e["request_id"], e["ad_id"])
        if e["event_type"] == "impression":
            shown.add(key)
        else:
            assert key in shown, f"a {e['event_type']} of an ad never shown: {e}"
        counts[e["arm"]][e["event_type"]] += 1
        revenue[e["arm"]] += e["revenue"]
    for arm in ("lr", "xgboost"):
        s = summary["arms"][f"{name}/{arm}"]
        assert (counts[arm]["impression"], counts[arm]["click"], counts[arm]["conversion"]) == (
            s["impressions"], s["clicks"], s["conversions"]), (arm, counts[arm], s)  # fmt: skip

    # The stream engine takes every one of them (valid, in order, no orphan).
    stream = run_adsx("stream", "--until-idle", "3", env=env, timeout=600)
    assert stream.returncode == 0, stream.stderr[-2000:]
    assert " 0 dead-lettered" in stream.stdout, stream.stdout

    # The collector, restarted after its SIGKILL, ends with exactly the topic's totals.
    r = run_adsx("experiment", "collect", "--until-idle", "2", env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    stored = {row[0]: row[1:] for row in psql(
        "SELECT arm, sum(impressions), sum(clicks), sum(conversions), sum(revenue)"
        f" FROM experiment_user_days WHERE experiment = '{name}' GROUP BY arm")}  # fmt: skip
    for arm in ("lr", "xgboost"):
        i, c, v, rev = stored[arm]
        assert (int(i), int(c), int(v)) == (
            counts[arm]["impression"],
            counts[arm]["click"],
            counts[arm]["conversion"],
        ), arm
        assert abs(float(rev) - revenue[arm]) < 1e-6 * max(1.0, revenue[arm]), arm

    # The report's CTR lift of XGBoost over LR against the truth's lift of what each served.
    out_dir = tmp_path / "report"
    r = run_adsx("experiment", "report", "--name", name, "--control", "lr", "--alpha", "0.001",
                 "--out", str(out_dir), env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    report = json.loads((out_dir / "report.json").read_text())
    by_arm = {a["name"]: a["totals"] for a in report["arms"]}
    assert by_arm["xgboost"]["clicks"] == counts["xgboost"]["click"]
    ctr = next(m for m in report["metrics"] if m["metric"] == "ctr" and m["arm"] == "xgboost")
    lr, xgb = summary["arms"][f"{name}/lr"], summary["arms"][f"{name}/xgboost"]
    truth = xgb["true_ctr"] / lr["true_ctr"] - 1
    print(f"CTR lift: report {ctr['lift']:+.4f} [{ctr['lift_low']:+.4f}, {ctr['lift_high']:+.4f}]"
          f", truth {truth:+.4f}")  # fmt: skip
    assert ctr["lift_low"] <= truth <= ctr["lift_high"], (ctr, truth)
    if abs(truth) > 3 * ctr["lift_std_error"]:
        assert (ctr["lift"] > 0) == (truth > 0), (ctr, truth)


def test_the_live_page_draws_the_report_and_redraws_as_data_arrives(experiment, browser):
    name, env = experiment
    svc = Service(env)
    try:
        status, _, body = svc.request("GET", f"/experiments/{name}/report.json")
        assert status == 200, body
        status, _, body = svc.request("GET", "/experiments/no-such-experiment")
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
        page, errors = open_report(browser, f"http://127.0.0.1:{svc.port}/experiments/{name}")
        shots = SOURCE_DIR / "var" / "screenshots"
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "experiment_live.png"), full_page=True)
        before = page.locator("#arms").inner_text()
        # 50 new users of arm lr arrive in PostgreSQL: the page shows them within two refreshes.
        psql("INSERT INTO experiment_user_days (experiment, arm, user_id, day, device, geo,"
             " impressions, clicks) SELECT '" + name + "', 'lr', 'k1:live-' || g, current_date,"
             " 'ios', 'US-CA', 10, 1 FROM generate_series(1, 50) g")  # fmt: skip
        page.wait_for_function(
            "before => document.querySelector('#arms').innerText !== before", arg=before,
            timeout=20_000)  # fmt: skip
        assert errors == []
        page.close()
    finally:
        svc.stop()
