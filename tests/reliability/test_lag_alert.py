"""An alert fires for real (issue #24): a stalled stream worker is seen by the lag alert.

On a stack of the test's own (Kafka, Redis, PostgreSQL and Prometheus, started by `adsx stack
up` on ports of its own, so it touches nothing of the shared stack and runs beside the other
suites), a worker keeps up with a paced generator while `adsx lag --serve` reports the group's
lag from Kafka's committed offsets, registered with that Prometheus like every adsx command.
SIGSTOP on the worker: its own /metrics stop with it, but the exporter's lag grows and
AdsxConsumerGroupLagging goes firing; SIGCONT: the worker catches up and the alert resolves.

The stack's Prometheus loads the rules from a copy of deploy/ in which that alert holds for 10 s
instead of 5 minutes (and the recording rules are evaluated every scrape, not every 15 s): the
real hold is proven by the rules' promtool unit test; this proves the chain it rests on (the
exporter, its discovery, the scrape, the recording rules, the alert's expression and state)."""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import (
    ADSX_BIN,
    BUILD_DIR,
    STACK_SERVICES,
    own_stack,
    own_stack_env,
    run_adsx,
)  # noqa: E402,E501

SOURCE = pathlib.Path(__file__).resolve().parents[2]
HERE = BUILD_DIR / "it-lag-alert"
VAR, DEPLOY = HERE / "var", HERE / "deploy"
PROMETHEUS_PORT = 29290
RATE = 2000  # events a second: a stall of S seconds puts the group S seconds behind
ALERT = "AdsxConsumerGroupLagging"


def isolated() -> dict[str, str]:
    return own_stack_env(
        VAR,
        STACK_SERVICES,
        ADSX_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:29392",
        ADSX_KAFKA__CONTROLLER_PORT="29393",
        ADSX_KAFKA__HEAP="512m",
        ADSX_REDIS__PORT="26579",
        ADSX_POSTGRES__PORT="25632",
        ADSX_PROMETHEUS__PORT=str(PROMETHEUS_PORT),
        ADSX_PROMETHEUS__SCRAPE_INTERVAL="1s",
        ADSX_STACK__DEPLOY_DIR=str(DEPLOY),
        ADSX_PRIVACY__HMAC_KEY_FILE=str(VAR / "secrets" / "hmac.key"),
        ADSX_SERVE__ADMIN_TOKEN_FILE=str(VAR / "secrets" / "admin.token"),
    )


def deploy_with_a_short_hold() -> None:
    shutil.rmtree(DEPLOY, ignore_errors=True)
    shutil.copytree(SOURCE / "deploy", DEPLOY)
    rules = DEPLOY / "prometheus" / "rules" / "adstreamx.rules.yml"
    doc = yaml.safe_load(rules.read_text())
    held = 0
    for group in doc["groups"]:
        group.pop("interval", None)
        for rule in group["rules"]:
            if rule.get("alert") == ALERT:
                assert rule["for"] == "5m", rule
                rule["for"], held = "10s", held + 1
    assert held == 1
    rules.write_text(yaml.safe_dump(doc, sort_keys=False))


def prometheus(path: str, **params: str) -> dict:
    url = f"http://127.0.0.1:{PROMETHEUS_PORT}{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.load(r)["data"]


def value(query: str) -> float | None:
    result = prometheus("/api/v1/query", query=query)["result"]
    return float(result[0]["value"][1]) if result else None


def alert_state() -> str | None:
    """The lag alert's state for group `features`: None, "pending" or "firing"."""
    for a in prometheus("/api/v1/alerts")["alerts"]:
        labels = a["labels"]
        if labels.get("alertname") == ALERT and labels.get("consumergroup") == "features":
            return a["state"]
    return None


def wait_for(what: str, check, timeout_s: float, step_s: float = 1.0):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(step_s)
    raise AssertionError(f"not within {timeout_s} s: {what}")


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [ADSX_BIN, *args], env=isolated(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def test_a_stalled_worker_fires_the_lag_alert_which_resolves_when_it_catches_up():
    deploy_with_a_short_hold()
    with own_stack(isolated()):
        assert run_adsx("db", "migrate", env=isolated()).returncode == 0
        seed = run_adsx("generate", "--events", "2000", env=isolated())  # topics and catalog
        assert seed.returncode == 0, seed.stderr[-2000:]
        processes = {
            "generator": spawn("generate", "--events", str(RATE * 600), "--rate", str(RATE)),
            "worker": spawn("stream"),
            "exporter": spawn("lag", "--serve", "--every", "1"),
        }
        worker = processes["worker"]
        try:
            # Keeping up: the chain reports the group a few seconds behind at most, no alert.
            behind = 'adsx:consumergroup_lag_seconds:estimate{consumergroup="features"}'
            wait_for("the group's lag in seconds, under 5", lambda: (v := value(behind)) is not None
                     and v < 5 and value("adsx:topic_records:rate1m") > RATE / 2, 90)  # fmt: skip
            assert alert_state() is None
            worker.send_signal(signal.SIGSTOP)
            stalled = time.time()
            wait_for("the alert firing", lambda: alert_state() == "firing", 150)
            held = time.time() - stalled
            # Not before the group was 30 s behind and the alert had held for 10 s.
            assert held > 30 + 10 - 2, held
            assert value(behind) > 30
            worker.send_signal(signal.SIGCONT)
            wait_for("the alert resolved", lambda: alert_state() is None, 120)
            assert value(behind) < 30
            for name, p in processes.items():
                assert p.poll() is None, (name, p.stderr.read()[-2000:])
        finally:
            worker.send_signal(signal.SIGCONT)
            for p in processes.values():
                p.send_signal(signal.SIGTERM)
            for p in processes.values():
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
