"""The Kafka broker SIGKILLed under `adsx generate` (issue #24's fault suite), on a broker of the
test's own (`adsx stack` with only Kafka managed, its own ports and var dir; PostgreSQL, which
receives the catalog, is the stack's):

- restarted (`adsx stack up`) while the run goes on: librdkafka reconnects with its jittered
  exponential backoff, the run ends normally, and the topic holds every event exactly once
  (the idempotent producer's retries are deduplicated by the broker); the outage shows as
  `kafka client error` warnings and in `adsx_generate_kafka_errors_total`;
- not restarted: the run stops at the delivery timeout and says exactly what happened:
  produced = acknowledged + failed, how many events never reached the broker, and which broker."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import (  # noqa: E402
    ADSX_BIN,
    BUILD_DIR,
    delete_topic,
    free_port,
    own_stack,
    own_stack_env,
    run_adsx,
    scrape,
    topic_record_count,
)

VAR = BUILD_DIR / "it-generate-faults" / "var"
BROKER = "127.0.0.1:29092"
EVENTS = 5_000_000


def env(**extra: str) -> dict[str, str]:
    e = own_stack_env(
        VAR,
        ("kafka",),
        ADSX_KAFKA__BOOTSTRAP_SERVERS=BROKER,
        ADSX_KAFKA__CONTROLLER_PORT="29093",
        ADSX_KAFKA__HEAP="512m",
    )
    return e | extra


@pytest.fixture(scope="module", autouse=True)
def isolated_stack():
    with own_stack(env()):
        yield


def broker_up() -> None:
    up = run_adsx("stack", "up", env=env(), timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr


def kill_broker() -> None:
    os.kill(int((VAR / "run" / "kafka.pid").read_text()), signal.SIGKILL)


def counts(out: str) -> tuple[int, int, int, int]:
    """produced, acknowledged, failed, and the records due: the run's events but those of users
    on the suppression list (erased by other suites on the shared PostgreSQL), never sent."""
    produced, acked, failed = map(
        int, re.search(r"produced (\d+) / acknowledged (\d+) / failed (\d+)", out).groups()
    )
    erased = re.search(r"(\d+) record\(s\) of erased users not sent", out)
    return produced, acked, failed, int(erased.group(1)) if erased else 0


def test_broker_restarted_mid_run_every_event_lands_once():
    events, port = 1_500_000, free_port()
    topic = f"it.genfaults.{uuid.uuid4().hex[:8]}"
    broker_up()
    gen = subprocess.Popen(
        [ADSX_BIN, "generate", "--events", str(events), "--seed", "73"],
        env=env(ADSX_KAFKA__EVENTS_TOPIC=topic, ADSX_METRICS__PORT=str(port)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # The run's errors counter, read until it ends (it is brought up to date between batches of
    # records, so it shows the outage once records flow again).
    errors = [0.0]
    sampler = threading.Thread(target=lambda: sample(gen, port, errors), daemon=True)
    sampler.start()
    try:
        time.sleep(3)  # well into the run: at the README's 239k events/s it lasts 6 s
        assert gen.poll() is None, "the run should still be going"
        kill_broker()
        time.sleep(3)
        started = time.monotonic()
        broker_up()
        out, err = gen.communicate(timeout=300)
        finished_s = time.monotonic() - started
    finally:
        if gen.poll() is None:
            gen.kill()
    sampler.join(timeout=10)
    assert gen.returncode == 0, out + err[-3000:]
    produced, acked, failed, erased = counts(out)
    print(
        f"{errors[0]:.0f} client errors; the run ended {finished_s:.1f} s after the broker's start"
    )
    assert produced == acked == events - erased and failed == 0
    assert errors[0] > 0
    assert "kafka client error: librdkafka retries with backoff" in err
    try:
        # The broker's own count: nothing lost, and no retried batch written twice.
        assert topic_record_count(topic, BROKER) == acked
    finally:
        delete_topic(topic, BROKER)


def sample(gen: subprocess.Popen, port: int, most: list[float]) -> None:
    while gen.poll() is None:
        most[0] = max(most[0], scrape(port, "adsx_generate_kafka_errors_total") or 0.0)
        time.sleep(0.2)


def test_broker_killed_mid_run_is_reported_with_exact_counts():
    topic = f"it.genfaults.{uuid.uuid4().hex[:8]}"
    broker_up()
    gen = subprocess.Popen(
        [ADSX_BIN, "generate", "--events", str(EVENTS), "--delivery-timeout", "5"],
        env=env(ADSX_KAFKA__EVENTS_TOPIC=topic),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(4)  # well into the run
    assert gen.poll() is None, "the run should still be going"
    kill_broker()
    out, err = gen.communicate(timeout=120)
    assert gen.returncode == 1, out + err[-2000:]

    produced, acked, failed, erased = counts(out)
    assert 0 < acked < EVENTS
    assert failed > 0
    assert produced == acked + failed, "every record handed to the producer is accounted for"
    lost = re.search(r"adsx: (\d+) of (\d+) events not delivered: (.*)", err)
    assert lost, err[-2000:]
    assert (int(lost.group(1)), int(lost.group(2))) == (EVENTS - erased - acked, EVENTS - erased)
    assert BROKER in lost.group(3)
