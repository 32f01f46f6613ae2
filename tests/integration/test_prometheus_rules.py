"""The alerting rules (deploy/prometheus/rules): promtool accepts them and their unit tests
(every alert fires on the series that should fire it, with its rendered text, and not on
healthy ones) pass; the stack's Prometheus loads and evaluates every rule; and the /metrics of
`adsx serve`, `adsx generate`, `adsx stream` and `adsx lag --serve` (every command that serves
one), as a scrape reads them, pass `promtool check metrics`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import uuid

import yaml
from conftest import ADSX_BIN, PROMETHEUS, SOURCE_DIR, Service, delete_topic, free_port, stream_env

RULES = SOURCE_DIR / "deploy" / "prometheus" / "rules"


def promtool(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["promtool", *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=RULES
    )


def test_rules_pass_promtool_and_their_unit_tests():
    files = sorted(p.name for p in RULES.glob("*.rules.yml"))
    assert files, "no rule files"
    r = promtool("check", "rules", *files)
    assert r.returncode == 0, r.stdout + r.stderr
    tests = sorted(p.name for p in RULES.glob("*.rules.test.yml"))
    assert len(tests) == len(files)
    r = promtool("test", "rules", *tests)
    assert r.returncode == 0, r.stdout + r.stderr
    # Every alert has a unit test that expects it to fire.
    alerts = {
        rule["alert"]
        for f in files
        for group in yaml.safe_load((RULES / f).read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    fired = {
        case["alertname"]
        for t in tests
        for test in yaml.safe_load((RULES / t).read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts and alerts == fired, alerts ^ fired


def test_the_stacks_prometheus_loads_and_evaluates_every_rule():
    expected = {}
    for f in RULES.glob("*.rules.yml"):
        for group in yaml.safe_load(f.read_text())["groups"]:
            expected[group["name"]] = [r.get("record") or r.get("alert") for r in group["rules"]]
    deadline = time.time() + 60
    while True:
        with urllib.request.urlopen(PROMETHEUS + "/api/v1/rules", timeout=10) as r:
            groups = {g["name"]: g for g in json.load(r)["data"]["groups"]}
        loaded = {n: [r["name"] for r in g["rules"]] for n, g in groups.items()}
        assert loaded == expected, "the stack's Prometheus loaded other rules than the files hold"
        health = [r["health"] for g in groups.values() for r in g["rules"]]
        if all(h == "ok" for h in health) or time.time() > deadline:
            break
        time.sleep(2)  # a rule's health is "unknown" until its group's first evaluation
    assert all(h == "ok" for h in health), [
        (r["name"], r["health"], r.get("lastError")) for g in groups.values() for r in g["rules"]
    ]


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def lint(text: str) -> None:
    r = promtool("check", "metrics", stdin=text)
    assert r.returncode == 0 and r.stdout.strip() == "" and r.stderr.strip() == "", (
        r.stdout + r.stderr
    )


def test_metrics_endpoints_pass_promtool_check_metrics():
    service = Service(dict(os.environ))
    try:
        for path in ("/healthz", "/readyz", "/features/ad/1", "/no-such-route"):
            service.request("GET", path)
        _, _, body = service.request("GET", "/metrics")
        text = body.decode()
        assert "adsx_serve_requests_total" in text
        lint(text)
    finally:
        service.stop()

    topic = f"it.rules.{uuid.uuid4().hex[:8]}"
    env = stream_env(topic, topic + ".dlq", "it-rules-" + topic)
    try:
        # The generator's while it produces (10 s of paced events), then the stream worker's.
        lint_while_running(["generate", "--events", "30000", "--rate", "3000"], env,
                           "adsx_generate_records_total")  # fmt: skip
        lint_while_running(["stream"], env, "adsx_stream_events_total")
        lint_while_running(["lag", "--serve", "--every", "0.5"], env, "kafka_consumergroup_lag")
    finally:
        delete_topic(topic)
        delete_topic(topic + ".dlq")


def lint_while_running(args: list[str], env: dict[str, str], marker: str) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [ADSX_BIN, *args], env=dict(env, ADSX_METRICS__PORT=str(port)), stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        text = ""
        while marker not in text:
            assert proc.poll() is None and time.time() < deadline, proc.stderr.read()[-2000:]
            try:
                text = scrape(port)
            except OSError:
                time.sleep(0.5)
        lint(text)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def samples(text: str, name: str) -> dict[str, float]:
    """A metric's samples in an exposition, by their label set as written."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, value = line[len(name) :].rsplit(" ", 1)
            out[labels.strip()] = float(value)
    return out


def test_what_the_dependency_alerts_watch_is_what_the_stores_hold(tmp_path):
    """AdsxRedisMemoryHigh, AdsxDailyFeaturesLate and AdsxModelReloadFailing read gauges and a
    counter `adsx serve` samples: they equal what Redis (redis-py) and PostgreSQL (psql) say, and
    a model version that cannot be loaded is counted once, however often the pointer is polled."""
    import redis
    from conftest import psql

    registry = tmp_path / "models"
    (registry / "ctr" / "current").mkdir(parents=True)
    (registry / "ctr" / "1").mkdir()
    (registry / "ctr" / "1" / "model.json").write_text("{not json")
    (registry / "ctr" / "current" / "control").write_text("1\n")
    env = dict(os.environ, ADSX_MODELS__DIR=str(registry), ADSX_SERVE__ARM="control",
               ADSX_SERVE__MODEL_RELOAD_MS="200", ADSX_SERVE__CATALOG_REFRESH_MS="300")  # fmt: skip
    service = Service(env)
    try:
        time.sleep(2)  # several reloads of the broken version, several samples
        text = service.request("GET", "/metrics")[2].decode()
        failures = samples(text, "adsx_serve_model_reload_failures_total")
        assert failures == {'{head="ctr"}': 1.0, '{head="cvr"}': 0.0}, failures  # cvr: no pointer
        (registry / "ctr" / "1" / "model.json").write_text("[]")  # another broken manifest
        time.sleep(1)
        text = service.request("GET", "/metrics")[2].decode()
        assert samples(text, "adsx_serve_model_reload_failures_total")['{head="ctr"}'] == 2.0

        r = redis.Redis(port=int(os.environ.get("ADSX_REDIS__PORT", "6379")))
        used = samples(text, "adsx_redis_memory_used_bytes")[""]
        assert abs(used - r.info("memory")["used_memory"]) < 0.2 * used
        assert samples(text, "adsx_redis_memory_max_bytes")[""] == float(
            r.config_get("maxmemory")["maxmemory"]
        )
        (newest,) = psql(
            "SELECT coalesce(extract(epoch FROM max(date))::bigint, 0) FROM features_ad"
        )[0]
        assert samples(text, "adsx_daily_features_newest_day_timestamp_seconds")[""] == float(
            newest
        )
        lint(text)
    finally:
        service.stop()
