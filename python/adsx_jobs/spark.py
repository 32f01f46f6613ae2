"""One way to get a SparkSession for the project's jobs: master, shuffle partitions and driver
memory from the [spark] config section, and Spark's Kafka connector from the jars
deploy/bootstrap.sh resolved from Maven Central (never downloaded at run time)."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pyspark
from pyspark.errors import StreamingQueryException
from pyspark.sql import SparkSession
from pyspark.sql.streaming import StreamingQuery

from adsx_jobs.config import Config, user_cache_dir


def jvm_cache() -> Path:
    """Where deploy/bootstrap.sh keeps the JVM side ($ADSX_CACHE_DIR/jvm, the user's cache by
    default, as config.user_cache_dir says): outside the clone."""
    return Path(os.environ.get("ADSX_CACHE_DIR") or user_cache_dir()) / "jvm"


def extra_jars() -> list[str]:
    extras = jvm_cache() / "spark-extras"
    jars = sorted(str(p) for p in extras.glob("*.jar"))
    if not jars:
        raise FileNotFoundError(f"no Spark Kafka connector jars in {extras}: run `make deps`")
    return jars


def class_archive(jars: list[str]) -> str:
    """The local driver JVM's option for a class-data-sharing archive of the classes a Spark job
    loads (Java 17's dynamic AppCDS): a job's JVM spends seconds loading and verifying the same
    few thousand classes on every start, 4 of the 33 s a daily job takes on a small lake. The
    archive is keyed by what it was made from (Java, PySpark, the extra jars); when there is
    none yet, this job's JVM writes one as it exits, under a name of its own, renamed into place
    once the JVM is gone (_archive_when_the_jvm_exits), so a reader never maps a half-written
    archive. A JVM that cannot use an archive ignores it (-Xshare:auto)."""
    java = subprocess.run(
        ["java", "-version"], capture_output=True, text=True, check=False
    ).stderr.split("\n")[0]
    key = hashlib.sha256("\n".join([java, pyspark.__version__, *jars]).encode()).hexdigest()
    archive = jvm_cache() / "spark-cds" / f"{key[:16]}.jsa"
    quiet = "-Xlog:cds*=error"  # not a line per class it cannot archive (on stdout)
    if archive.exists():
        return f"-XX:SharedArchiveFile={archive} {quiet}"
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
        for stale in archive.parent.glob(f"{archive.stem}.*.partial"):  # of a killed job
            if not _alive(int(stale.suffixes[-2].lstrip("."))):
                stale.unlink(missing_ok=True)
    except (OSError, ValueError):
        return ""  # a cache it cannot write: no archive, nothing else changes
    partial = archive.with_suffix(f".{os.getpid()}.partial")
    atexit.register(_archive_when_the_jvm_exits, partial, archive)
    return f"-XX:ArchiveClassesAtExit={partial} {quiet}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return True


def _archive_when_the_jvm_exits(partial: Path, archive: Path) -> None:
    """At the job's exit: the JVM writes its archive as it exits, so end it (its stdin closing
    is what ends PySpark's JVM), wait for it, and move a complete archive into place."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    proc = getattr(gateway, "proc", None) if gateway else None
    if proc is None:
        return
    with contextlib.suppress(Exception):
        proc.stdin.close()
        if proc.wait(timeout=120) == 0 and partial.exists() and not archive.exists():
            partial.rename(archive)
    partial.unlink(missing_ok=True)


def session(cfg: Config, app: str) -> SparkSession:
    s = cfg["spark"]
    local = s["master"].startswith("local")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    if local:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # loopback only, like the stack
    jars = extra_jars()
    builder = (
        SparkSession.builder.appName(app)
        .master(s["master"])
        .config("spark.jars", ",".join(jars))
        .config("spark.driver.memory", s["driver_memory"])
        .config("spark.sql.shuffle.partitions", str(s["shuffle_partitions"]))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # Python workers run the venv's interpreter (its packages: redis, …), on a cluster too
        # when the same venv path exists there.
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
    )
    if local:
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.extraJavaOptions", class_archive(jars))
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def kafka_stream(spark: SparkSession, cfg: Config, topic: str, max_offsets_per_trigger: int):
    """A streaming DataFrame of `topic` from its earliest offsets (the checkpoint decides where
    a restarted query resumes), at most `max_offsets_per_trigger` records per micro-batch.

    A task's consumer reads up to the end of its offset range and no further, but its last
    fetch asks for more and the broker holds it for the consumer's fetch.max.wait.ms (500 ms by
    default) when the partition has nothing newer: a task per partition and micro-batch, on 2
    cores 3 s of a 3.6 s read of 40k records (12 partitions), 3 of 5 s of 600k. 20 ms costs a
    consumer nothing: it exists only while its task reads a range that is already there."""
    return (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", cfg["kafka"]["bootstrap_servers"])
        .option("kafka.fetch.max.wait.ms", "20")
        .option("subscribe", topic)
        .option("startingOffsets", "earliest")
        .option("maxOffsetsPerTrigger", max_offsets_per_trigger)
        .option("failOnDataLoss", "false")
        .load()
    )


@dataclass
class Tally:
    records: int = 0
    batches: int = 0
    busy_ms: int = 0  # time the micro-batches ran (Spark's triggerExecution)


def follow(queries: dict[str, StreamingQuery], job: str):
    """Waits until the streaming queries end (available-now) or Ctrl-C, printing one JSON
    progress line per micro-batch. Returns each query's Tally and the first failure (or None);
    every query is stopped on return."""
    tallies = {name: Tally() for name in queries}
    seen: set[tuple[str, int]] = set()

    def report() -> None:
        for name, q in queries.items():
            for p in q.recentProgress:
                if (name, p["batchId"]) in seen:
                    continue
                seen.add((name, p["batchId"]))
                t = tallies[name]
                t.batches += 1
                t.records += p["numInputRows"]
                t.busy_ms += p["durationMs"].get("triggerExecution", 0)
                line = {
                    "progress": job if len(queries) == 1 else f"{job}.{name}",
                    "batch": p["batchId"],
                    "records": p["numInputRows"],
                    "records_total": t.records,
                    "records_per_s": p.get("processedRowsPerSecond", 0.0),
                }
                print(json.dumps(line), flush=True)

    failed = None
    try:
        while any(q.isActive for q in queries.values()):
            for q in queries.values():
                if q.isActive:
                    # A query that stopped with an error raises it here: q.exception() has it.
                    with contextlib.suppress(StreamingQueryException):
                        q.awaitTermination(2)
            report()
            failed = next((q.exception() for q in queries.values() if q.exception()), None)
            if failed:
                break
    except KeyboardInterrupt:
        pass
    for q in queries.values():
        q.stop()
    report()
    return tallies, failed


def root_cause(failure) -> str:
    """The line of a query's failure worth showing: the innermost "Caused by" of its Java trace
    (a full disk, a read-only folder, a refused connection), else its first line."""
    text = str(failure)
    causes = [x.strip() for x in text.splitlines() if x.strip().startswith("Caused by: ")]
    return causes[-1].removeprefix("Caused by: ") if causes else text.strip().split("\n")[0]
