"""`adsx serve` under faults, against real services: a Redis of the test's own is SIGKILLed
while clients keep asking /rank_ads and restarted (answers degrade to contextual ranking, none
is a 5xx, and they recover when Redis is back), and a corrupt model version is promoted (the
service keeps serving the version it had, and picks up the next good one)."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

from adsx_ml import registry as models

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import (  # noqa: E402
    Service,
    delete_topic,
    free_port,
    generated_and_streamed,
    personalised,
    trained_registry,
)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    env, events, topics = generated_and_streamed("it.faults", 5000, 83)
    registry = trained_registry(tmp_path_factory)
    yield env, events, registry
    for t in topics:
        delete_topic(t)


def start_redis(port: int, workdir) -> subprocess.Popen:
    p = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        if subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True).stdout:
            return p
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def request_body(events) -> bytes:
    e = next(e for e in events if personalised(e["consent"]))
    return json.dumps({"user_id": e["user_id"], "consent": e["consent"], "slots": 3,
                       "context": {"device": e["device"], "geo": e["geo"],
                                   "placement": "feed"}}).encode()  # fmt: skip


def test_redis_killed_under_load_degrades_without_5xx_and_recovers(world, tmp_path):
    env, events, registry = world
    port = free_port()
    redis_proc = start_redis(port, tmp_path)
    # Service() lets a round trip take a second (a loaded Redis, not a dead one): a killed
    # Redis refuses connections at once, whatever the timeout.
    svc = Service(dict(env, ADSX_MODELS__DIR=str(registry), ADSX_REDIS__PORT=str(port)))
    body = request_body(events)
    answers: list[tuple[float, int, list]] = []
    stop = threading.Event()

    def client():
        while not stop.is_set():
            status, _, data = svc.request("POST", "/rank_ads", body,
                                          {"Content-Type": "application/json"})  # fmt: skip
            r = json.loads(data)
            answers.append((time.monotonic(), status, r.get("degraded", [])))

    threads = [threading.Thread(target=client) for _ in range(4)]
    try:
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(2)
        redis_proc.send_signal(signal.SIGKILL)
        redis_proc.wait()
        killed = time.monotonic()
        time.sleep(2)
        restarting = time.monotonic()
        redis_proc = start_redis(port, tmp_path)
        back = time.monotonic()
        time.sleep(2)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
        code, _ = svc.stop()
        redis_proc.kill()
    assert code == 0
    assert answers and all(status == 200 for _, status, _ in answers), {s for _, s, _ in answers}
    before = [d for at, _, d in answers if started + 0.5 < at < killed]
    during = [d for at, _, d in answers if killed + 0.2 < at < restarting]
    after = [d for at, _, d in answers if at > back + 1]

    # Healthy before the kill and after the restart. A round trip can still exceed 500 ms when
    # the machine is starved (CI's 2 cores run other suites' leftovers); the service then
    # degrades that one answer, as designed, rather than stall: a stray one is tolerated, a
    # pattern is not.
    def mostly_healthy(ds: list[list[str]]) -> bool:
        return bool(ds) and sum(1 for d in ds if d) <= max(1, len(ds) // 50)

    assert mostly_healthy(before), f"healthy before the kill: {[d for d in before if d][:3]}"
    assert during and all("user_features" in d for d in during), "degraded while Redis is gone"
    assert mostly_healthy(after), f"recovered once Redis is back: {[d for d in after if d][:3]}"


def test_a_corrupt_model_version_keeps_the_previous_one_serving(world, tmp_path):
    env, events, registry = world
    reg = tmp_path / "registry"
    shutil.copytree(registry, reg)
    svc = Service(dict(env, ADSX_MODELS__DIR=str(reg), ADSX_SERVE__MODEL_RELOAD_MS="100"))
    body = request_body(events)

    def version():
        status, _, data = svc.request("POST", "/rank_ads", body,
                                      {"Content-Type": "application/json"})  # fmt: skip
        assert status == 200
        return json.loads(data)["model"]["version"]

    try:
        good = version()
        versions = sorted(int(p.name) for p in (reg / "ctr").iterdir() if p.name.isdigit())
        bad = versions[-1] + 1
        shutil.copytree(reg / "ctr" / str(good), reg / "ctr" / str(bad))
        manifest = reg / "ctr" / str(bad) / "model.json"
        m = json.loads(manifest.read_text())
        m["version"] = bad
        manifest.write_text(json.dumps(m))
        for f in (reg / "ctr" / str(bad)).iterdir():  # the artifact no longer matches its checksum
            if f.name != "model.json":
                f.write_text(f.read_text()[: len(f.read_text()) // 2])
        models.point(reg, "ctr", "control", bad)
        time.sleep(1)
        assert version() == good, "the corrupt version is refused, the good one keeps serving"
        status, _, data = svc.request("GET", "/readyz")
        assert status == 200, data
        models.point(reg, "ctr", "control", versions[0])  # a good version again: picked up
        deadline = time.monotonic() + 5
        while version() != versions[0] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert version() == versions[0]
    finally:
        svc.stop()
