"""Redis SIGKILLed under `adsx stream` (issue #24's fault suite), on a redis-server of the test's
own that snapshots to disk: the worker stops at once with an error naming the lost store (its
key cache can no longer be trusted, so it does not reconnect by itself: a supervisor restarts
it). Redis comes back from its last snapshot, older than what the worker had committed; the
restarted worker resumes from the snapshot's offsets, and the state it leaves is identical to an
uninterrupted run's over the same records: nothing lost, nothing counted twice.
(Redis killed under `adsx serve`: test_serve_faults.py.)"""

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import delete_topic, free_port, run_adsx  # noqa: E402
from stream_state import (  # noqa: E402
    consumed,
    differences,
    progress_past,
    snapshot,
    start,
    store,
    stream_env,
)

EVENTS = 100_000


def redis_server(port: int, folder) -> subprocess.Popen:
    """A Redis that saves its snapshot (dump.rdb) in `folder` and loads it when started again."""
    p = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "PING"], capture_output=True).stdout != (
        b"PONG\n"
    ):
        assert time.monotonic() < deadline, "redis-server did not start (or is still loading)"
        time.sleep(0.05)
    return p


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A generated topic and a Redis of the test's own."""
    folder = tmp_path_factory.mktemp("redis")
    port = free_port()
    server = redis_server(port, folder)
    name = f"it.redisfaults.{uuid.uuid4().hex[:8]}"
    r = run_adsx("generate", "--events", str(EVENTS), "--malformed-rate", "0.01", "--seed", "43",
                 env=dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=name))  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    state = {"server": server, "port": port, "folder": folder, "topic": name}
    yield state
    state["server"].kill()
    delete_topic(name)
    delete_topic(name + ".dlq")


def env_for(world, run: str) -> dict[str, str]:
    env = stream_env(world["topic"], f"{run}-{uuid.uuid4().hex[:6]}", world["topic"] + ".dlq",
                     small_batches=True)  # fmt: skip
    return dict(env, ADSX_REDIS__PORT=str(world["port"]))


def test_redis_killed_and_back_from_its_snapshot_under_the_stream_gives_the_identical_state(
    world,
):
    ref_env = env_for(world, "ref")
    r = store(ref_env)
    r.flushdb()
    ref = run_adsx("stream", "--until-idle", "6", env=ref_env, timeout=900)
    assert ref.returncode == 0, ref.stdout + ref.stderr[-2000:]
    reference = snapshot(r)

    r.flushdb()
    env = env_for(world, "kill")
    worker = start(env, stderr=subprocess.PIPE)
    before = progress_past(EVENTS // 4, worker, env)
    r.save()  # the snapshot Redis will come back from (the local stack's Redis saves on a timer)
    after = consumed(env)
    reached = progress_past(after + EVENTS // 8, worker, env)
    world["server"].send_signal(signal.SIGKILL)
    world["server"].wait()
    _, err = worker.communicate(timeout=60)
    assert worker.returncode == 1, err[-2000:]
    assert "redis" in err.lower(), err[-2000:]

    world["server"] = redis_server(world["port"], world["folder"])
    back = consumed(env)
    assert before <= back <= after < reached, (before, back, after, reached)  # the snapshot's
    restarted = time.monotonic()
    final = start(env)
    progress_past(back, final, env)
    resumed_s = time.monotonic() - restarted
    out, _ = final.communicate(timeout=900)
    assert final.returncode == 0, out
    print(f"snapshot at {back} of the {reached} records committed; resumed in {resumed_s:.1f} s")
    assert resumed_s < 30
    state = snapshot(r)
    assert state == reference, differences(state, reference)
