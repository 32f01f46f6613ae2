"""Shared helpers for the integration suites: find the adsx binary and run it."""

import base64
import os
import pathlib
import subprocess
import sys

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("ADSX_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("ADSX_BUILD_DIR", SOURCE_DIR / "build" / "release"))
ADSX_BIN = os.environ.get("ADSX_BIN", str(BUILD_DIR / "apps" / "adsx" / "adsx"))


def run_adsx(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """Runs `adsx ARGS` and returns the CompletedProcess (text mode, output captured)."""
    return subprocess.run(
        [ADSX_BIN, *args],
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def stream_env(topic: str, dlq: str, group: str) -> dict[str, str]:
    """This process's environment pointing `adsx stream` (and the generator and lake job) at
    its own events topic, dead-letter topic and consumer group."""
    return dict(
        os.environ,
        ADSX_KAFKA__EVENTS_TOPIC=topic,
        ADSX_KAFKA__DLQ_TOPIC=dlq,
        ADSX_STREAM__GROUP=group,
    )


def run_job(env: dict[str, str], module: str, *args: str, timeout: float = 900):
    """Runs one of the project's Python jobs (`python -m MODULE ARGS`) from the project root
    with the test's Python; it must succeed. Returns the CompletedProcess (text)."""
    r = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=SOURCE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r


@pytest.fixture(scope="session")
def adsx_bin() -> str:
    assert os.access(ADSX_BIN, os.X_OK), f"adsx binary not built: {ADSX_BIN}"
    return ADSX_BIN


KAFKA_JARS = (
    pathlib.Path(os.environ.get("ADSX_CACHE_DIR", pathlib.Path.home() / ".cache" / "adstreamx"))
    / "jvm"
    / "kafka"
)
BOOTSTRAP = os.environ.get("ADSX_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")


def kafka_tool(main_class: str, *args: str, timeout: float = 120) -> str:
    """Runs one of the broker's own command-line tools (not our client) and returns stdout."""
    r = subprocess.run(
        [
            "java",
            f"-Dlog4j.configuration=file:{SOURCE_DIR / 'deploy/kafka/tools-log4j.properties'}",
            "-cp",
            f"{KAFKA_JARS}/*",
            main_class,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert r.returncode == 0, f"{main_class} failed: {r.stderr}"
    return r.stdout


def topic_record_count(topic: str) -> int:
    """Records in a topic according to the broker: the sum of its partitions' end offsets."""
    out = kafka_tool(
        "org.apache.kafka.tools.GetOffsetShell",
        "--bootstrap-server",
        BOOTSTRAP,
        "--topic",
        topic,
        "--time",
        "-1",
    )
    return sum(int(line.rsplit(":", 1)[1]) for line in out.split())


def delete_topic(topic: str) -> None:
    kafka_tool(
        "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server",
        BOOTSTRAP,
        "--delete",
        "--topic",
        topic,
    )


def consume(topic: str, count: int | None = None, fmt: str = "%p\t%o\t%k\t%s\n") -> list[str]:
    """Reads a topic from the beginning with kcat (librdkafka's CLI, not our code)."""
    args = ["kcat", "-C", "-b", BOOTSTRAP, "-t", topic, "-o", "beginning", "-e", "-q", "-f", fmt]
    if count is not None:
        args += ["-c", str(count)]
    r = subprocess.run(args, capture_output=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().splitlines()


def psql(sql: str) -> list[list[str]]:
    """Rows of a query on the project database, with psql (not our client), fields as text; the
    database the ADSX_POSTGRES__* overrides name, as adsx reads them."""
    r = subprocess.run(
        [
            "psql",
            "-h",
            os.environ.get("ADSX_POSTGRES__HOST", "127.0.0.1"),
            "-p",
            os.environ.get("ADSX_POSTGRES__PORT", "5432"),
            "-U",
            "adsx",
            "-d",
            "adstreamx",
            "-At",
            "-F",
            "\t",
            "-c",
            sql,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def catalog_ad_ids() -> set[int]:
    """The ad ids of the catalog in PostgreSQL."""
    return {int(row[0]) for row in psql("SELECT ad_id FROM ads")}


def personalised(tc: str) -> bool:
    """The test oracle of consent (not our decoder): a TCF v2 core string's PurposesConsent is
    24 bits at bit offset 152; personalisation needs purposes 1, 3 and 4."""
    core = tc.split(".")[0]
    bits = "".join(f"{b:08b}" for b in base64.urlsafe_b64decode(core + "=" * (-len(core) % 4)))
    purposes = bits[152:176]
    return purposes[0] == purposes[2] == purposes[3] == "1"
