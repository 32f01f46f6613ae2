"""`adsx generate` when the broker dies mid-run: librdkafka retries with backoff until the
delivery timeout, then the run stops and says exactly what happened: produced = acknowledged +
failed, how many events never reached the broker, and which broker. Runs on its own isolated
stack (other ports, own var dir) so the broker can be killed without disturbing other tests."""

import os
import re
import signal
import subprocess
import time

import pytest
from conftest import ADSX_BIN, BUILD_DIR, STACK_SERVICES, own_stack, own_stack_env

VAR = BUILD_DIR / "it-broker-loss" / "var"
BROKER = "127.0.0.1:29092"
EVENTS = 5_000_000


def env() -> dict[str, str]:
    return own_stack_env(
        VAR,
        STACK_SERVICES,
        ADSX_KAFKA__BOOTSTRAP_SERVERS=BROKER,
        ADSX_KAFKA__CONTROLLER_PORT="29093",
        ADSX_KAFKA__HEAP="512m",
        ADSX_REDIS__PORT="26379",
        ADSX_POSTGRES__PORT="25432",
        ADSX_PROMETHEUS__PORT="29090",
    )


@pytest.fixture(scope="module", autouse=True)
def isolated_stack():
    with own_stack(env()):
        yield


def test_broker_killed_mid_run_is_reported_with_exact_counts():
    gen = subprocess.Popen(
        [ADSX_BIN, "generate", "--events", str(EVENTS), "--delivery-timeout", "5"],
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    broker_pid = int((VAR / "run" / "kafka.pid").read_text())
    time.sleep(4)  # well into the run
    assert gen.poll() is None, "the run should still be going"
    os.kill(broker_pid, signal.SIGKILL)
    out, err = gen.communicate(timeout=120)
    assert gen.returncode == 1, out + err[-2000:]

    produced, acked, failed = map(
        int, re.search(r"produced (\d+) / acknowledged (\d+) / failed (\d+)", out).groups()
    )
    assert 0 < acked < EVENTS
    assert failed > 0
    assert produced == acked + failed, "every record handed to the producer is accounted for"
    lost = re.search(r"adsx: (\d+) of (\d+) events not delivered: (.*)", err)
    assert lost, err[-2000:]
    assert int(lost.group(1)) == EVENTS - acked
    assert BROKER in lost.group(3)
