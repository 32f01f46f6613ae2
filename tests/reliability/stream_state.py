"""What the stream engine's failure tests share: the Redis state a run leaves (to compare a
faulted run with an uninterrupted one), and starting and watching `adsx stream` workers."""

import os
import subprocess
import sys
import time

import redis

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import ADSX_BIN, store_client, store_nodes  # noqa: E402

PARTITIONS = int(os.environ.get("ADSX_KAFKA__EVENTS_PARTITIONS", "12"))  # as `generate` makes it


def store(env: dict[str, str] | None = None):
    """The Redis `env` points adsx at (default: this process's environment's): one server, or
    the cluster (ADSX_REDIS__MODE=cluster)."""
    return store_client(env)


R = store()


def _logical(key: bytes) -> bytes:
    """A key without its Redis Cluster hash tag (contracts.logical_key)."""
    return key[key.index(b"}") + 1 :] if key.startswith(b"{") else key


def snapshot(server: redis.Redis | None = None) -> dict:
    """Every feature key's hash, and the request logs' fingerprints, sorted (batches append
    them in runs, which crashes cut differently; keys without the consumer group,
    `rq:{group}:{topic}:{partition}:{i|c}:{bucket}`), of `server` or of every one holding keys,
    names without their cluster hash tags; offsets excluded: they are per consumer group."""
    out = {}
    for r in [server] if server is not None else store_nodes():
        keys = [
            k for k in r.scan_iter(count=10_000) if not _logical(k).startswith((b"off:", b"adsx:"))
        ]
        pipe = r.pipeline(transaction=False)
        for k in keys:
            pipe.type(k)
        types = pipe.execute()
        pipe = r.pipeline(transaction=False)
        for k, t in zip(keys, types, strict=True):
            {b"hash": pipe.hgetall}.get(t, pipe.get)(k)
        names = [_logical(k) for k in keys]
        names = [b"rq:" + k.split(b":", 2)[2] if k.startswith(b"rq:") else k for k in names]
        values = [
            sorted(v[i : i + 8] for i in range(0, len(v), 8)) if k.startswith(b"rq:") else v
            for k, v in zip(names, pipe.execute(), strict=True)
        ]
        out.update(zip(names, values, strict=True))
    return out


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


def start(env: dict[str, str], stderr=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen(
        [ADSX_BIN, "stream", "--until-idle", "3"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def consumed(env: dict[str, str]) -> int:
    """Records the group's stored offsets are past, over all partitions. One round trip, by
    key name: a SCAN for the offset keys walks the whole keyspace (10^5 feature keys here),
    which made the kill points late by tens of thousands of records. On Redis Cluster, the
    offsets a worker resumes from: those of the partition's log, under the partition's tag."""
    cluster = env.get("ADSX_REDIS__MODE") == "cluster"
    pipe = store(env).pipeline(transaction=False)
    for partition in range(PARTITIONS):
        pid = f"{env['ADSX_STREAM__GROUP']}:{env['ADSX_KAFKA__EVENTS_TOPIC']}:{partition}"
        pipe.hget(("{" + pid + "}" if cluster else "") + f"off:{pid}", "next")
    return sum(max(int(n or 0), 0) for n in pipe.execute())


def progress_past(n: int, p: subprocess.Popen, env: dict[str, str], poll_s: float = 0.05) -> int:
    """Waits until the worker has committed past `n` records; returns where it got."""
    deadline = time.monotonic() + 120
    while (now := consumed(env)) <= n:
        assert p.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, f"no commit past {n} records in 120 s"
        time.sleep(poll_s)
    return now
