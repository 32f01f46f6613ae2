"""Exactly-once under failure: `adsx stream` is killed with SIGKILL at random points (5 times)
while it works through a generated topic, restarted each time; the final Redis state must be
identical to an uninterrupted run over the same records. The same with two workers sharing the
partitions, one of them killed (forcing a rebalance onto the other), and with Redis going back
to an earlier snapshot (as after a Redis crash: the local Redis snapshots, it keeps no AOF)."""

import os
import random
import signal
import subprocess
import sys
import time
import uuid

import pytest
import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import ADSX_BIN, delete_topic, run_adsx  # noqa: E402

EVENTS = int(os.environ.get("ADSX_IT_CRASH_EVENTS", "150000"))
PARTITIONS = int(os.environ.get("ADSX_KAFKA__EVENTS_PARTITIONS", "12"))  # as `generate` makes it
R = redis.Redis(host="127.0.0.1", port=int(os.environ.get("ADSX_REDIS__PORT", "6379")))


def snapshot() -> dict:
    """Every feature key's hash, and the request logs' fingerprints, sorted (batches append
    them in runs, which crashes cut differently; keys without the consumer group,
    `rq:{group}:{topic}:{partition}:{i|c}:{bucket}`); offsets excluded: they are per consumer
    group."""
    keys = [k for k in R.scan_iter(count=10_000) if not k.startswith((b"off:", b"adsx:"))]
    pipe = R.pipeline(transaction=False)
    for k in keys:
        pipe.type(k)
    types = pipe.execute()
    pipe = R.pipeline(transaction=False)
    for k, t in zip(keys, types, strict=True):
        {b"hash": pipe.hgetall}.get(t, pipe.get)(k)
    names = [b"rq:" + k.split(b":", 2)[2] if k.startswith(b"rq:") else k for k in keys]
    values = [
        sorted(v[i : i + 8] for i in range(0, len(v), 8)) if k.startswith(b"rq:") else v
        for k, v in zip(keys, pipe.execute(), strict=True)
    ]
    return dict(zip(names, values, strict=True))


def differences(state: dict, reference: dict, most: int = 3) -> str:
    """Field-level differences of the first few keys that differ, for the failure message."""
    out = []
    for k in sorted(set(state) | set(reference)):
        a, b = state.get(k), reference.get(k)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            fields = {f: (a.get(f), b.get(f)) for f in set(a) | set(b) if a.get(f) != b.get(f)}
            out.append(f"{k!r}: {fields}")
        else:
            out.append(f"{k!r}: {a!r} != {b!r}")
        if len(out) >= most:
            break
    return "\n".join(out)


def stream_env(topic: str, group: str, dlq: str, small_batches: bool = False) -> dict[str, str]:
    env = dict(
        os.environ,
        ADSX_KAFKA__EVENTS_TOPIC=topic,
        ADSX_STREAM__GROUP=group,
        ADSX_KAFKA__DLQ_TOPIC=dlq,
        ADSX_METRICS__PORT="0",
    )
    if small_batches:
        # Many small commits, so that a worker is still at work when it is killed (with 20k
        # batches one worker can finish the topic before the first kill), and a killed worker's
        # place in the group is given up sooner.
        env.update(ADSX_STREAM__BATCH_SIZE="500", ADSX_STREAM__SESSION_TIMEOUT_S="6")
    return env


def start(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [ADSX_BIN, "stream", "--until-idle", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def consumed(env: dict[str, str]) -> int:
    """Records the group's stored offsets are past, over all partitions. One round trip, by
    key name: a SCAN for the offset keys walks the whole keyspace (10^5 feature keys here),
    which made the kill points late by tens of thousands of records."""
    prefix = f"off:{env['ADSX_STREAM__GROUP']}:{env['ADSX_KAFKA__EVENTS_TOPIC']}"
    pipe = R.pipeline(transaction=False)
    for partition in range(PARTITIONS):
        pipe.hget(f"{prefix}:{partition}", "next")
    return sum(max(int(n or 0), 0) for n in pipe.execute())


def progress_past(n: int, p: subprocess.Popen, env: dict[str, str], poll_s: float = 0.05) -> int:
    """Waits until the worker has committed past `n` records; returns where it got."""
    deadline = time.monotonic() + 120
    while (now := consumed(env)) <= n:
        assert p.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, f"no commit past {n} records in 120 s"
        time.sleep(poll_s)
    return now


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
    R.flushdb()
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
    R.flushdb()
    env = stream_env(topic, f"crash-{uuid.uuid4().hex[:6]}", topic + ".dlq", small_batches=True)
    rng = random.Random(7)
    for target in kill_targets(5, rng):
        kill_past(target, start(env), env, rng)
    final = start(env)
    out, _ = final.communicate(timeout=900)
    assert final.returncode == 0, out
    state = snapshot()
    assert state == reference, differences(state, reference)


def test_two_workers_and_a_killed_one_still_give_the_identical_state(topic, reference):
    R.flushdb()
    env = stream_env(topic, f"pair-{uuid.uuid4().hex[:6]}", topic + ".dlq", small_batches=True)
    a, b = start(env), start(env)
    rng = random.Random(11)
    kill_past(kill_targets(1, rng)[0], a, env, rng)  # its partitions move to b in a rebalance
    out, _ = b.communicate(timeout=900)
    assert b.returncode == 0, out
    state = snapshot()
    assert state == reference, differences(state, reference)


# Every key with its remaining TTL and DUMP, in one script: Redis runs it between two of the
# worker's transactions, so it is a consistent point, as an RDB snapshot is.
DUMP_ALL = """
local out = {}
for _, k in ipairs(redis.call('KEYS', '*')) do
  table.insert(out, k)
  table.insert(out, redis.call('PTTL', k))
  table.insert(out, redis.call('DUMP', k))
end
return out
"""


def test_redis_back_at_an_earlier_snapshot_then_resume_gives_the_identical_state(topic, reference):
    R.flushdb()
    env = stream_env(topic, f"rewind-{uuid.uuid4().hex[:6]}", topic + ".dlq", small_batches=True)
    p = start(env)
    progress_past(0, p, env)
    saved = R.eval(DUMP_ALL, 0)
    # The worker commits more after the snapshot; then Redis "crashes" and comes back with the
    # snapshot, and the worker's connection would be gone.
    kill_past(consumed(env), p, env, random.Random(13))
    R.flushdb()
    pipe = R.pipeline(transaction=True)
    for k, ttl, dumped in zip(saved[::3], saved[1::3], saved[2::3], strict=True):
        pipe.restore(k, max(ttl, 0), dumped)
    pipe.execute()
    assert consumed(env) < EVENTS
    final = start(env)
    out, _ = final.communicate(timeout=900)
    assert final.returncode == 0, out
    state = snapshot()
    assert state == reference, differences(state, reference)
