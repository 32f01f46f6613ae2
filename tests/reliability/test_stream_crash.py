"""Exactly-once under failure: `adsx stream` is killed with SIGKILL at random points (5 times)
while it works through a generated topic, restarted each time; the final Redis state must be
identical to an uninterrupted run over the same records. The same with two workers sharing the
partitions, one of them killed (forcing a rebalance onto the other), and with Redis going back
to an earlier snapshot (as after a Redis crash: the local Redis snapshots, it keeps no AOF).
Registered twice: on one server (`stream_crash`) and on Redis Cluster (`stream_crash_cluster`),
where a commit is many transactions (redis/cluster_store.h)."""

import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import delete_topic, flush_store, run_adsx, store_nodes  # noqa: E402
from stream_state import (  # noqa: E402
    consumed,
    differences,
    progress_past,
    snapshot,
    start,
    stream_env,
)

EVENTS = int(os.environ.get("ADSX_IT_CRASH_EVENTS", "150000"))


def kill_past(target: int, p: subprocess.Popen, env: dict[str, str], rng: random.Random) -> None:
    """SIGKILL once the worker has committed past `target` records, a random few milliseconds
    later (so at any point of a batch: decoding, writing, waiting for EXEC's reply), and
    before it finished the topic. The point is chosen by progress, not by wall time: a worker
    at 150k records/s finishes this topic within a second, so a kill after a random sleep
    could come after the end (it did, once, in CI)."""
    progress_past(target, p, env, poll_s=0.002)
    time.sleep(rng.uniform(0.0, 0.02))
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert consumed(env) < EVENTS, "the worker had finished the topic when it was killed"


def kill_targets(kills: int, rng: random.Random) -> list[int]:
    """One kill point in each of the first `kills` of `kills + 1` equal slices of the topic,
    at a random place in its first half: the last slice and a half are margin, so that the
    worker is still at work when the signal arrives."""
    size = EVENTS // (kills + 1)
    return [i * size + rng.randrange(size // 2) for i in range(kills)]


@pytest.fixture(scope="module")
def topic():
    name = f"it.crash.{uuid.uuid4().hex[:8]}"
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=name, ADSX_KAFKA__DLQ_TOPIC=name + ".dlq")
    r = run_adsx(
        "generate",
        "--events",
        str(EVENTS),
        "--malformed-rate",
        "0.01",
        "--seed",
        "31",
        env=env,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    yield name
    delete_topic(name)
    delete_topic(name + ".dlq")


@pytest.fixture(scope="module")
def reference(topic):
    flush_store()
    r = run_adsx(
        "stream",
        "--until-idle",
        "6",
        env=stream_env(topic, f"ref-{uuid.uuid4().hex[:6]}", topic + ".dlq"),
        timeout=900,
    )
    assert r.returncode == 0, r.stdout
    return snapshot()


def test_sigkill_five_times_then_resume_gives_the_identical_state(topic, reference):
    flush_store()
    env = stream_env(topic, f"crash-{uuid.uuid4().hex[:6]}", topic + ".dlq", small_batches=True)
    rng = random.Random(7)
    for target in kill_targets(5, rng):
        kill_past(target, start(env), env, rng)
    final = start(env, stderr=subprocess.PIPE)
    out, err = final.communicate(timeout=900)
    assert final.returncode == 0, out + err[-3000:]
    state = snapshot()
    assert state == reference, differences(state, reference)


def test_two_workers_and_a_killed_one_still_give_the_identical_state(topic, reference):
    flush_store()
    env = stream_env(topic, f"pair-{uuid.uuid4().hex[:6]}", topic + ".dlq", small_batches=True)
    a, b = start(env), start(env, stderr=subprocess.PIPE)
    rng = random.Random(11)
    kill_past(kill_targets(1, rng)[0], a, env, rng)  # its partitions move to b in a rebalance
    out, err = b.communicate(timeout=900)
    assert b.returncode == 0, out + err[-3000:]
    state = snapshot()
    assert state == reference, differences(state, reference)


def dump_all(node) -> list[tuple[bytes, int, bytes]]:
    """Every key of a server with its remaining TTL and DUMP (the caller stops the worker, so
    that this is a consistent point, as an RDB snapshot is)."""
    keys = list(node.scan_iter(count=10_000))
    pipe = node.pipeline(transaction=False)
    for k in keys:
        pipe.pttl(k)
        pipe.dump(k)
    got = pipe.execute()
    return [(k, got[2 * i], got[2 * i + 1]) for i, k in enumerate(keys)]


def test_redis_back_at_an_earlier_snapshot_then_resume_gives_the_identical_state(topic, reference):
    flush_store()
    env = stream_env(topic, f"rewind-{uuid.uuid4().hex[:6]}", topic + ".dlq", small_batches=True)
    p = start(env)
    progress_past(0, p, env)
    # The worker stands still while every server is dumped (on Redis Cluster the servers' dumps
    # are then one cut, which their RDB snapshots would not be).
    p.send_signal(signal.SIGSTOP)
    saved = [(node, dump_all(node)) for node in store_nodes()]
    p.send_signal(signal.SIGCONT)
    # The worker commits more after the snapshot; then Redis "crashes" and comes back with the
    # snapshot, and the worker's connection would be gone.
    kill_past(consumed(env), p, env, random.Random(13))
    flush_store()
    for node, dump in saved:
        pipe = node.pipeline(transaction=False)
        for k, ttl, dumped in dump:
            pipe.restore(k, max(ttl, 0), dumped)
        pipe.execute()
    assert consumed(env) < EVENTS
    final = start(env, stderr=subprocess.PIPE)
    out, err = final.communicate(timeout=900)
    assert final.returncode == 0, out + err[-3000:]
    state = snapshot()
    assert state == reference, differences(state, reference)
