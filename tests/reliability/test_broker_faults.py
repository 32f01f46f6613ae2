"""The Kafka broker SIGKILLed under `adsx stream` (issue #24's fault suite), on a broker of the
test's own (`adsx stack` with only Kafka managed, its own ports and var dir; Redis and
PostgreSQL are the stack's): the worker keeps running while the broker is gone (librdkafka
reconnects with its exponential, jittered backoff), resumes when `adsx stack up` has restarted
it, and the Redis state it leaves is identical to an uninterrupted run's over the same records:
nothing lost, nothing counted twice."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import (  # noqa: E402
    BUILD_DIR,
    free_port,
    own_stack,
    own_stack_env,
    run_adsx,
    scrape,
)
from stream_state import (  # noqa: E402
    R,
    consumed,
    differences,
    progress_past,
    snapshot,
    start,
    stream_env,
)

VAR = BUILD_DIR / "it-broker-faults" / "var"
EVENTS = 150_000
OUTAGE_S = 5


def isolated(**extra: str) -> dict[str, str]:
    return own_stack_env(
        VAR,
        ("kafka",),
        ADSX_KAFKA__BOOTSTRAP_SERVERS="127.0.0.1:29192",
        ADSX_KAFKA__CONTROLLER_PORT="29193",
        ADSX_KAFKA__HEAP="512m",
        **extra,
    )


def broker(action: str) -> None:
    r = run_adsx("stack", action, env=isolated(), timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.fixture(scope="module")
def topic():
    name = f"it.brokerfaults.{uuid.uuid4().hex[:8]}"
    with own_stack(isolated()):
        gen = run_adsx("generate", "--events", str(EVENTS), "--malformed-rate", "0.01",
                       "--seed", "37", env=isolated(ADSX_KAFKA__EVENTS_TOPIC=name))  # fmt: skip
        assert gen.returncode == 0, gen.stderr[-2000:]
        yield name


def env_for(topic: str, run: str) -> dict[str, str]:
    env = stream_env(topic, f"{run}-{uuid.uuid4().hex[:6]}", topic + ".dlq", small_batches=True)
    return dict(env, **{k: v for k, v in isolated().items() if k.startswith("ADSX_KAFKA__")})


def test_broker_killed_and_restarted_under_the_stream_gives_the_identical_state(topic):
    R.flushdb()
    ref = run_adsx("stream", "--until-idle", "6", env=env_for(topic, "ref"), timeout=900)
    assert ref.returncode == 0, ref.stdout + ref.stderr[-2000:]
    reference = snapshot()

    R.flushdb()
    metrics_port = free_port()
    env = dict(env_for(topic, "broker"), ADSX_METRICS__PORT=str(metrics_port))
    worker = start(env, stderr=subprocess.PIPE)
    progress_past(EVENTS // 4, worker, env)
    os.kill(int((VAR / "run" / "kafka.pid").read_text()), signal.SIGKILL)
    killed_at = consumed(env)
    time.sleep(OUTAGE_S)
    assert worker.poll() is None, "the worker gave up while the broker was gone"
    assert consumed(env) < EVENTS, "the worker had finished the topic when the broker died"
    broker("up")
    back = time.monotonic()
    progress_past(consumed(env), worker, env)
    resumed_s = time.monotonic() - back
    # The worker reports its progress (and client errors) every 2 s, busy or idle: read its
    # /metrics until the errors show, before it stops at the end of the topic.
    counted, deadline = 0.0, time.monotonic() + 10
    while counted < 1 and time.monotonic() < deadline and worker.poll() is None:
        value = scrape(metrics_port, "adsx_stream_kafka_errors_total")
        if value is None:
            break  # it stopped between the check and the read
        counted = value
        time.sleep(0.2)
    out, err = worker.communicate(timeout=900)
    assert worker.returncode == 0, out + err[-3000:]
    print(f"killed at {killed_at} records, resumed {resumed_s:.1f} s after the restart")
    assert resumed_s < 60, resumed_s

    state = snapshot()
    assert state == reference, differences(state, reference)
    # Every record accounted for once: applied or dead-lettered, as in the uninterrupted run.
    counts = [re.search(r"processed (\d+) records: (\d+) applied, (\d+) dead-lettered", x)
              for x in (ref.stdout, out)]  # fmt: skip
    assert all(counts), (ref.stdout, out)
    assert counts[0].groups() == counts[1].groups()
    # The outage is in the worker's log and metrics, not silent: each error librdkafka reported
    # (it reconnects with exponential, jittered backoff) logged, and counted.
    logged = [json.loads(x)["fields"] for x in err.splitlines() if "kafka client error" in x]
    assert logged and all(f["error"].startswith("_") for f in logged), err[-2000:]
    assert counted >= 1 and counted <= len(logged), (counted, len(logged))
