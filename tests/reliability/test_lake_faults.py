"""The lake job when its folder cannot be written (issue #24's fault suite): the lake on a
tmpfs of 3 MB fills up mid-run, then the same folder is read-only. Each run fails with one
clear line naming the cause (not a Python traceback), the sink's log lists no file of the
failed batch, and once the folder is writable again the job resumes from its checkpoint,
removes the failed batch's files and writes the lake exactly: every record of the topic once,
as a valid event or a rejected record. Needs `mount` (root, as CI runs): skipped otherwise.
Analytics under faults: test_postgres_faults.py."""

import json
import os
import subprocess
import sys
import time
import uuid

import duckdb
import pytest

from adsx_jobs.sink_log import SinkLog

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from conftest import delete_topic, job, run_adsx, topic_record_count  # noqa: E402

EVENTS = 60_000


def mount(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


def remount(folder, options: str) -> None:
    """Remounts the tmpfs with `options` (a new size), retrying while the kernel says busy."""
    for _ in range(50):
        r = mount("-o", f"remount,{options}", str(folder))
        if r.returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError(r.stderr)


def unmount_all(folder) -> None:
    """Lazily (a file the job's JVM still holds open keeps its mount busy), each mount stacked
    on `folder`."""
    while os.path.ismount(folder):
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=True)


def read_only(folder) -> None:
    """A read-only bind mount over `folder`. Remounting the tmpfs itself read-only fails while a
    file on it is open for writing, as one the failed job's JVM (the test's own process) may
    still hold; a bind mount of its own has no writers."""
    for args in (("--bind", str(folder), str(folder)), ("-o", "remount,bind,ro", str(folder))):
        r = mount(*args)
        assert r.returncode == 0, r.stderr


@pytest.fixture
def small_lake(tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    r = mount("-t", "tmpfs", "-o", "size=3m", "tmpfs", str(lake))
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield lake
    unmount_all(lake)


@pytest.fixture(scope="module")
def topic():
    name = f"it.lakefaults.{uuid.uuid4().hex[:8]}"
    gen = run_adsx("generate", "--events", str(EVENTS), "--malformed-rate", "0.01",
                   "--seed", "53", env=dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=name))  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-2000:]
    yield name
    delete_topic(name)


def lake_job(topic: str, lake, *extra: str) -> subprocess.CompletedProcess:
    return job(dict(os.environ), "adsx_jobs.lake", "--topic", topic, "--available-now",
               "--max-offsets-per-trigger", "20000", "--lake", str(lake), *extra)  # fmt: skip


def listed(lake) -> list[str]:
    return sorted(SinkLog(lake / "events").live())


def test_a_full_then_read_only_lake_fails_clearly_and_the_rerun_writes_it_exactly(
    topic, small_lake
):
    full = lake_job(topic, small_lake, "--fresh")
    assert full.returncode == 1
    last = full.stderr.strip().splitlines()[-1]
    assert last.startswith("lake job failed: ") and "No space left on device" in last, last
    # The log lists only whole files: every one reads in full.
    committed = listed(small_lake)
    for f in committed:
        duckdb.execute(f"SELECT count(*) FROM read_parquet('{f}')").fetchone()
    # The failed batch's event files, if the disk filled while they were written (it may fill
    # in the rejected records' write instead): in the folder, not in the log.
    written = list(small_lake.glob("events/*/*/*.parquet"))
    assert len(written) >= len(committed)

    read_only(small_lake)
    ro = lake_job(topic, small_lake)
    assert ro.returncode == 1
    last = ro.stderr.strip().splitlines()[-1]
    assert last.startswith("lake job failed: ") and "Read-only file system" in last, last

    subprocess.run(["umount", "-l", str(small_lake)], capture_output=True, check=True)  # the bind
    remount(small_lake, "size=512m")
    ok = lake_job(topic, small_lake)
    assert ok.returncode == 0, ok.stderr[-3000:]
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert summary["stray_files_removed"] == len(written) - len(committed), summary
    on_disk = sorted(str(p) for p in small_lake.glob("events/*/*/*.parquet"))
    assert on_disk == listed(small_lake)  # nothing in the folder the log does not list
    rows, distinct = duckdb.execute(
        f"SELECT count(*), count(DISTINCT (kafka_partition, kafka_offset))"
        f" FROM read_parquet('{small_lake}/events/*/*/*.parquet')"
    ).fetchone()
    rejected = duckdb.execute(
        f"SELECT count(*) FROM read_parquet('{small_lake}/rejected/*/*.parquet')"
    ).fetchone()[0]
    assert rows == distinct and rejected > 0
    assert rows + rejected == topic_record_count(
        topic
    )  # the generator's edge may drop erased users
