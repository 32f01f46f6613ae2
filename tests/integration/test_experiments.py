"""Experiments as data, assigned by the real service: `adsx experiment create|start|stop|list`
against PostgreSQL, then `adsx serve` puts each user in the arm Python's twin of the assignment
computes (python/adsx_jobs/experiments.py), scores with that arm's models (a registry pointer per
arm), says so in the reply and on ad.serves, and stops assigning once the experiment stops.
Refusals: an unknown experiment, a taken name, a second start, overlapping buckets in a layer,
arms without weights."""

from __future__ import annotations

import json
import os
import time
import uuid

import pytest
from conftest import (
    Service,
    consume,
    delete_topic,
    generated_and_streamed,
    psql,
    run_adsx,
    trained_registry,
)

from adsx_jobs.experiments import place

EVENTS = int(os.environ.get("ADSX_IT_EXPERIMENT_EVENTS", "5000"))


@pytest.fixture(scope="module")
def world():
    env, events, topics = generated_and_streamed("it.exp", EVENTS, 71)
    yield env, events
    for t in topics:
        delete_topic(t)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """Two models per head: `control` serves the promoted one, `treatment` the other."""
    root = trained_registry(tmp_path_factory)
    for head in ("ctr", "cvr"):
        current = int((root / head / "current" / "control").read_text())
        other = next(int(v.name) for v in (root / head).iterdir() if v.name.isdigit() and int(v.name) != current)  # fmt: skip
        (root / head / "current" / "treatment").write_text(f"{other}\n")
    return root


@pytest.fixture
def experiment(world):
    """A draft experiment in a layer of its own, covering half of the layer's buckets."""
    # "0…" sorts before any experiment a person names with a letter (the demo's demo-aa-…): the
    # service tries experiments by name, so this one decides for every user of its range.
    name, layer = f"0-it-{uuid.uuid4().hex[:8]}", f"it-{uuid.uuid4().hex[:8]}"
    r = run_adsx("experiment", "create", "--name", name, "--arms", "a,b", "--weights", "1,1",
                 "--model-arms", "control,treatment", "--layer", layer, "--buckets", "0-4999",
                 env=world[0])  # fmt: skip
    assert r.returncode == 0, r.stderr
    yield name, layer
    run_adsx("experiment", "stop", "--name", name, env=world[0])  # a test may leave it running


def running_experiments() -> list[dict]:
    """Every running experiment as PostgreSQL holds it (psql, not our reader), in the order the
    service tries them: by name, bytewise. The demo's or a user's may run beside the test's."""
    rows = psql(
        "SELECT e.name, e.layer, e.salt, e.first_bucket, e.bucket_count, e.holdout_buckets,"
        " string_agg(a.arm, ',' ORDER BY a.position), string_agg(a.weight::text, ',' ORDER BY"
        " a.position), string_agg(a.model_arm, ',' ORDER BY a.position) FROM experiments e"
        " JOIN experiment_arms a ON a.experiment = e.name WHERE e.status = 'running'"
        " GROUP BY e.name"
    )
    out = [dict(name=r[0], layer=r[1], salt=r[2], first=int(r[3]), count=int(r[4]),
                holdout=int(r[5]), arms=r[6].split(","), weights=[float(w) for w in r[7].split(",")],
                model_arms=r[8].split(",")) for r in rows]  # fmt: skip
    return sorted(out, key=lambda e: e["name"].encode())


def expected_arm(user: str, running: list[dict]) -> tuple[dict | None, str]:
    """The experiment member the service must answer for `user`, and the model arm it scores
    with: the first running experiment that places the user (Python's twin of the assigner)."""
    for e in running:
        arm = place(user, e["layer"], e["salt"], e["weights"], first=e["first"], count=e["count"],
                    holdout=e["holdout"])  # fmt: skip
        if arm is not None:
            return {"name": e["name"], "arm": e["arms"][arm]}, e["model_arms"][arm]
    return None, "control"


def listed(env, name: str) -> str:
    r = run_adsx("experiment", "list", env=env)
    assert r.returncode == 0, r.stderr
    return next(line for line in r.stdout.splitlines() if line.startswith(name + " "))


def test_the_service_assigns_arms_serves_their_models_and_logs_them(world, registry, experiment):
    env, events = world
    name, layer = experiment
    assert " draft " in listed(env, name)
    assert run_adsx("experiment", "start", "--name", name, env=env).returncode == 0
    assert " running " in listed(env, name)
    serves = env["ADSX_KAFKA__EVENTS_TOPIC"] + ".serves"
    svc = Service(dict(env, ADSX_MODELS__DIR=str(registry), ADSX_KAFKA__SERVES_TOPIC=serves,
                       ADSX_SERVE__CATALOG_REFRESH_MS="200"))  # fmt: skip
    try:
        running = running_experiments()
        assert name in [e["name"] for e in running]
        users = sorted({e["user_id"] for e in events if e.get("user_id")})[:300]
        seen, versions = {}, {}
        for user in users:
            body = {
                "user_id": user,
                "context": {"device": "ios", "geo": "US-CA", "placement": "feed"},
            }
            status, _, data = svc.request("POST", "/rank_ads", json.dumps(body).encode(),
                                          {"Content-Type": "application/json"})  # fmt: skip
            assert status == 200, data
            reply = json.loads(data)
            want, model_arm = expected_arm(user, running)
            assert reply["experiment"] == want, (user, reply["experiment"], want)
            seen[user] = want
            if reply["model"] is not None:
                assert reply["model"]["arm"] == model_arm
                versions.setdefault(model_arm, set()).add(reply["model"]["version"])
        # This test's experiment: its own place() over its half of the layer, arms 1:1.
        ours = [v["arm"] if v and v["name"] == name else None for v in seen.values()]
        for user, v in seen.items():
            arm = place(user, layer, name, [1, 1], first=0, count=5000)
            assert (v is not None and v["name"] == name) == (arm is not None), user
        assert ours.count("a") > 40 and ours.count("b") > 40 and ours.count(None) > 80, ours
        # Each arm scored with its own pointer's model, and the two differ.
        assert len(versions["control"]) == 1 and len(versions["treatment"]) == 1
        assert versions["control"] != versions["treatment"]
        # ad.serves carries the same experiment arm for every decision.
        deadline = time.monotonic() + 15
        while len(logged := consume(serves, fmt="%s\n")) < len(users):  # produced asynchronously
            if time.monotonic() > deadline:
                got = {json.loads(v)["user_id"] for v in logged}
                _, err = svc.stop()  # its last line counts the records it dropped or lost
                raise AssertionError(f"{len(logged)} of {len(users)} decisions logged; missing "
                                     f"{sorted(set(users) - got)}; serve: {err[-1500:]}")  # fmt: skip
            time.sleep(0.5)
        logged = [json.loads(line) for line in logged]
        assert len(logged) == len(users)
        for record in logged:
            assert record["experiment"] == seen[record["user_id"]]

        assert run_adsx("experiment", "stop", "--name", name, env=env).returncode == 0
        member = next(u for u, v in seen.items() if v and v["name"] == name)
        deadline = time.monotonic() + 10
        while True:  # the service reads experiments again with the catalog (200 ms here)
            body = {
                "user_id": member,
                "context": {"device": "ios", "geo": "US-CA", "placement": "feed"},
            }
            _, _, data = svc.request("POST", "/rank_ads", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})  # fmt: skip
            if (json.loads(data)["experiment"] or {}).get("name") != name:
                break
            assert time.monotonic() < deadline, "the service still assigns a stopped experiment"
            time.sleep(0.2)
    finally:
        svc.stop()
        delete_topic(serves)


def test_lifecycle_refusals(world, experiment):
    env = world[0]
    name, layer = experiment
    r = run_adsx("experiment", "start", "--name", "it-no-such-experiment", env=env)
    assert r.returncode == 1 and "no experiment named" in r.stderr
    r = run_adsx("experiment", "report", "--name", "it-no-such-experiment", env=env)
    assert r.returncode == 1 and "no experiment 'it-no-such-experiment'" in r.stderr
    r = run_adsx("experiment", "create", "--name", name, "--arms", "a,b", env=env)
    assert r.returncode == 1 and "exists" in r.stderr
    r = run_adsx("experiment", "create", "--name", name + "x", "--arms", "a", env=env)
    assert r.returncode == 2 and "at least two arms" in r.stderr
    r = run_adsx("experiment", "create", "--name", name + "y", "--arms", "a,b", "--weights", "1",
                 env=env)  # fmt: skip
    assert r.returncode == 2 and "one value per arm" in r.stderr
    r = run_adsx("experiment", "create", "--name", name + "z", "--arms", "a,b",
                 "--reserve-scales", "1,0", env=env)  # fmt: skip
    assert r.returncode == 2 and "'0' is not a positive number" in r.stderr
    r = run_adsx("experiment", "stop", "--name", name, env=env)
    assert r.returncode == 1 and "draft -> running -> stopped" in r.stderr
    assert run_adsx("experiment", "start", "--name", name, env=env).returncode == 0
    r = run_adsx("experiment", "start", "--name", name, env=env)
    assert r.returncode == 1 and "is running" in r.stderr
    overlap = name + "-o"
    r = run_adsx("experiment", "create", "--name", overlap, "--arms", "a,b", "--layer", layer,
                 "--buckets", "4000-5999", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = run_adsx("experiment", "start", "--name", overlap, env=env)
    assert r.returncode == 1 and f"share buckets of layer {layer}" in r.stderr, r.stderr
    assert " draft " in listed(env, overlap)


def test_an_arm_can_change_a_ranking_parameter_the_reserve(world, registry):
    """A reserve-price test: arm b multiplies every placement's reserve eCPM by a million, so
    none of its users gets an ad, while arm a's users get theirs."""
    env, events = world
    # "0-0-…" sorts before every other experiment: the service tries them by name.
    name, layer = f"0-0-it-rsv-{uuid.uuid4().hex[:8]}", f"it-rsv-{uuid.uuid4().hex[:8]}"
    r = run_adsx("experiment", "create", "--name", name, "--arms", "a,b", "--model-arms",
                 "control,control", "--reserve-scales", "1,1e6", "--layer", layer, env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "b (1 -> control, reserve x1000000)" in listed(env, name)
    assert run_adsx("experiment", "start", "--name", name, env=env).returncode == 0
    svc = Service(dict(env, ADSX_MODELS__DIR=str(registry)))
    try:
        filled = {"a": [], "b": []}
        for user in sorted({e["user_id"] for e in events if e.get("user_id")})[:120]:
            body = {"user_id": user, "slots": 3,
                    "context": {"device": "ios", "geo": "US-CA", "placement": "feed"}}  # fmt: skip
            status, _, data = svc.request("POST", "/rank_ads", json.dumps(body).encode(),
                                          {"Content-Type": "application/json"})  # fmt: skip
            assert status == 200, data
            reply = json.loads(data)
            assert reply["experiment"]["name"] == name
            filled[reply["experiment"]["arm"]].append(len(reply["ranked_ads"]))
        assert len(filled["a"]) > 30 and len(filled["b"]) > 30, filled
        assert sum(filled["a"]) > 0.8 * 3 * len(filled["a"]), filled["a"]
        assert sum(filled["b"]) == 0, filled["b"]
    finally:
        svc.stop()
        run_adsx("experiment", "stop", "--name", name, env=env)
