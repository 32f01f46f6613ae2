"""adsx_jobs.spark.class_archive: the driver JVM's class-data-sharing archive is made once per
Java, PySpark and jar set, under a name of its own until complete, used once it exists, and
never in the way: a killed job's leftover is removed, a cache it cannot write means no archive."""

import atexit
import os
import subprocess

import pytest

from adsx_jobs import spark


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ADSX_CACHE_DIR", str(tmp_path))
    yield tmp_path / "jvm" / "spark-cds"
    atexit.unregister(spark._archive_when_the_jvm_exits)


def option(flags: str, name: str) -> str:
    return next(f.split("=", 1)[1] for f in flags.split() if f.startswith(f"-XX:{name}="))


def test_the_first_job_writes_a_partial_archive_and_later_ones_use_the_complete_one(cache):
    first = spark.class_archive(["/jars/a.jar"])
    partial = option(first, "ArchiveClassesAtExit")
    assert partial.endswith(f".{os.getpid()}.partial") and "-Xlog:cds*=error" in first
    archive = cache / (os.path.basename(partial).split(".")[0] + ".jsa")
    archive.write_bytes(b"made by the first job's JVM as it exited")
    assert option(spark.class_archive(["/jars/a.jar"]), "SharedArchiveFile") == str(archive)
    # Another jar set is another archive, still to be made.
    assert "ArchiveClassesAtExit" in spark.class_archive(["/jars/a.jar", "/jars/b.jar"])


def test_a_killed_jobs_partial_archive_is_removed_and_a_running_ones_is_kept(cache):
    partial = option(spark.class_archive(["/jars/a.jar"]), "ArchiveClassesAtExit")
    stem = os.path.basename(partial).split(".")[0]
    gone = subprocess.Popen(["true"])
    gone.wait()
    killed = cache / f"{stem}.{gone.pid}.partial"
    running = cache / f"{stem}.{os.getppid()}.partial"
    killed.write_bytes(b"x")
    running.write_bytes(b"x")
    spark.class_archive(["/jars/a.jar"])
    assert not killed.exists() and running.exists()


def test_a_cache_it_cannot_write_means_no_archive(tmp_path, monkeypatch):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("ADSX_CACHE_DIR", str(blocked))
    assert spark.class_archive(["/jars/a.jar"]) == ""
