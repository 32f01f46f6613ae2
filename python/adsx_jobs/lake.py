"""Lake job: the events topic into the Parquet lake and per-minute analytics in PostgreSQL
(Spark Structured Streaming; issue #5).

Two queries over the topic, each with its own checkpoint under [spark] checkpoint_dir:

  events     contract-valid events -> {lake}/events/event_date=YYYY-MM-DD/event_hour=H/*.parquet
             through Spark's file sink: exactly-once files (its _spark_metadata log). Columns:
             the event's fields plus kafka_partition, kafka_offset and ingested_at.
  analytics  per micro-batch: records that break the contract -> {lake}/rejected/batch=N/
             (reason, source partition and offset, the raw value: nothing is lost; a replayed
             batch overwrites its own directory), and the valid events counted per minute × ad ×
             experiment arm × device × geo, staged by Spark's tasks over JDBC and added to
             PostgreSQL's analytics_minute in one transaction with the batch id
             (analytics_batches): a replayed batch is skipped.
             While PostgreSQL cannot be reached the batch waits, its transaction retried with
             exponential backoff and jitter (adsx_jobs.pg.retrying; counted in the summary).

The lake keeps every contract-valid event, orphan clicks included: relating clicks to their
impressions is the daily job's and the stream engine's business, not the archive's. Events of a
user on the erasure suppression list (read at start) are kept with the fields that link them to
the person emptied, and a rejected record naming one keeps its reason but not its bytes: a
replay of the topic cannot put an erased user back (adsx_jobs.privacy, adsx_jobs.lake_erase).

The job holds the lake's lock ({lake}/.adsx-lake.lock) while it runs: adsx_jobs.lake_erase
rewrites files the sink's log lists, so the two never run at once.

  .venv/bin/python -m adsx_jobs.lake --available-now     # catch up, then stop
  .venv/bin/python -m adsx_jobs.lake                     # run until interrupted
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from adsx_jobs import config as adsx_config
from adsx_jobs import events, pg, privacy
from adsx_jobs.sink_log import remove_unlisted
from adsx_jobs.spark import follow, kafka_stream, root_cause, session

ANALYTICS_KEY = ["minute", "ad_id", "campaign_id", "experiment", "arm", "device", "geo"]


def decoded(source: DataFrame, max_future_ms: int) -> DataFrame:
    """Each record with its contract verdict (`reason`, null when valid): the rules of
    schemas/ad_event.schema.json, as `adsx stream` applies them (adsx_jobs.events)."""
    records = source.select(
        "value",
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
    )
    return (
        events.decoded(records, "value", "d")
        .withColumn("reason", events.verdict("d", max_future_ms))
        .withColumnRenamed("value", "raw")  # the bytes as received, valid UTF-8 or not
    )


def local_dir(lake: str) -> Path | None:
    """The lake's folder when it is on this machine (a path or file: URI), else None (object
    storage: no lock, no erasure or clean-up of its files yet; docs/privacy.md)."""
    if "://" in lake and not lake.startswith("file:"):
        return None
    return Path(lake.removeprefix("file:"))


@contextlib.contextmanager
def lake_lock(lake: str, wait_s: float | None = None) -> Iterator[None]:
    """The lake's exclusive lock: held by the lake job while it runs and by the erasure's
    rewrite. Waits for it (at most `wait_s`, forever when None). A local lake only: a lake on
    object storage has no lock here, and its erasure is not supported yet (docs/privacy.md)."""
    root = local_dir(lake)
    if root is None:
        yield
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".adsx-lake.lock", "w") as f:
        deadline = None if wait_s is None else time.monotonic() + wait_s
        told = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() > deadline:
                    raise TimeoutError(f"the lake {root} stayed locked for {wait_s} s") from None
                if not told:
                    print(f"waiting for the lake's lock ({root}/.adsx-lake.lock)", file=sys.stderr)
                    told = True
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def valid_events(d: DataFrame, erased: list[str] | None = None) -> DataFrame:
    ts = F.timestamp_millis(F.col("event_time"))
    valid = (
        d.where(F.col("reason").isNull())
        .select(*events.columns("d"), "kafka_partition", "kafka_offset")
        .withColumn("ingested_at", F.current_timestamp())
        .withColumn("event_date", F.date_format(ts, "yyyy-MM-dd"))
        .withColumn("event_hour", F.hour(ts))
    )
    return privacy.anonymised(valid, erased or [], list(privacy.EVENT_PERSONAL))


def per_minute(valid: DataFrame) -> DataFrame:
    """The analytics rows of a set of valid events (experiment/arm '' when none)."""
    return (
        valid.withColumn("minute", F.date_trunc("minute", F.timestamp_millis(F.col("event_time"))))
        .withColumn("experiment", F.coalesce("experiment", F.lit("")))
        .withColumn("arm", F.coalesce("arm", F.lit("")))
        .groupBy(*ANALYTICS_KEY)
        .agg(
            F.sum((F.col("event_type") == "impression").cast("long")).alias("impressions"),
            F.sum((F.col("event_type") == "click").cast("long")).alias("clicks"),
            F.sum((F.col("event_type") == "conversion").cast("long")).alias("conversions"),
            F.sum("price").alias("spend"),
            F.sum("revenue").alias("revenue"),
        )
    )


UPSERT = """
INSERT INTO analytics_minute AS a (minute, ad_id, campaign_id, experiment, arm, device, geo,
                                   impressions, clicks, conversions, spend, revenue)
SELECT minute, ad_id, campaign_id, experiment, arm, device, geo,
       impressions, clicks, conversions, spend, revenue FROM {staging}
ON CONFLICT (minute, ad_id, campaign_id, experiment, arm, device, geo) DO UPDATE SET
    impressions = a.impressions + excluded.impressions,
    clicks      = a.clicks + excluded.clicks,
    conversions = a.conversions + excluded.conversions,
    spend       = a.spend + excluded.spend,
    revenue     = a.revenue + excluded.revenue
"""


def rejected_records(batch: DataFrame, erased: list[str]) -> DataFrame:
    """The records that break the contract, as kept in rejected/: the bytes of one naming an
    erased user are dropped (its reason and place in the topic stay)."""
    rejected = batch.where(F.col("reason").isNotNull())
    if erased:
        rejected = rejected.withColumn(
            "raw", F.when(~privacy.names_erased(F.col("raw"), erased), F.col("raw"))
        )
    return rejected.select("reason", "kafka_partition", "kafka_offset", "raw")


def analytics_writer(cfg: adsx_config.Config, query: str, lake: str, erased: list[str]):
    # The query's batches run one after another: one staging table name serves them all.
    staging = f"analytics_load_{hashlib.sha256(query.encode()).hexdigest()[:16]}"

    def write(decoded_batch: DataFrame, batch_id: int) -> None:
        # Kept for the two uses below: the verdict and what it needs, not the decoding's
        # intermediate columns (the text twice over, each member's text: 1.5x the time).
        batch = decoded_batch.select(
            "reason", "kafka_partition", "kafka_offset", "raw", events.typed_column("d")
        ).persist()
        rejected = rejected_records(batch, erased)
        if not rejected.isEmpty():
            rejected.write.mode("overwrite").parquet(f"{lake}/rejected/batch={batch_id}")
        rows = per_minute(valid_events(batch))

        def add(cur) -> None:
            cur.execute(
                "SELECT 1 FROM analytics_batches WHERE query = %s AND batch_id = %s",
                (query, batch_id),
            )
            if cur.fetchone():
                return  # applied before a crash or a lost reply: a replay changes nothing
            pg.stage(cfg, rows, "analytics_minute", staging)
            cur.execute(UPSERT.format(staging=staging))
            cur.execute(
                "INSERT INTO analytics_batches (query, batch_id, rows) VALUES (%s, %s, %s)",
                (query, batch_id, cur.rowcount),
            )
            cur.execute(f"DROP TABLE {staging}")

        pg.retrying(cfg, "analytics", add)  # PostgreSQL down: backs off; the batch waits
        batch.unpersist()

    return write


def main(argv: list[str] | None = None) -> int:
    cfg = adsx_config.load()
    ap = argparse.ArgumentParser(
        prog="adsx_jobs.lake", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    ap.add_argument("--topic", default=cfg["kafka"]["events_topic"])
    ap.add_argument(
        "--available-now", action="store_true", help="process what the topic holds, then stop"
    )
    ap.add_argument("--max-offsets-per-trigger", type=int, default=500_000)
    ap.add_argument("--lake", help="default: [lake] dir")
    ap.add_argument("--fresh", action="store_true", help="delete this topic's checkpoints first")
    args = ap.parse_args(argv)

    lake = args.lake or cfg.location("lake", "dir")
    checkpoints = checkpoint_dir(cfg, args.topic)
    if args.fresh:
        shutil.rmtree(checkpoints, ignore_errors=True)
    started = time.monotonic()
    try:
        with lake_lock(lake):
            return archive(cfg, args, lake, checkpoints, started)
    except OSError as e:  # a folder it must write (the lake's lock, its files): read-only, full
        print(f"lake job failed: {e}", file=sys.stderr)
        return 1


def checkpoint_dir(cfg, topic: str) -> Path:
    """Where the archive of `topic` keeps its streaming checkpoints (offsets and commit logs)."""
    return cfg.path("spark", "checkpoint_dir") / f"lake-{topic}"


def archive(cfg, args, lake: str, checkpoints: Path, started: float) -> int:
    erased = privacy.suppressed(cfg)
    # A failed batch's files (a full disk, a killed job): no reader of the log sees them, a
    # reader of the folder would. Under the lake's lock nothing is being written.
    root = local_dir(lake)
    stray = remove_unlisted(root / "events") if root else 0
    spark = session(cfg, "adsx-lake")
    source = kafka_stream(spark, cfg, args.topic, args.max_offsets_per_trigger)
    d = decoded(source, cfg["events"]["max_future_s"] * 1000)

    def trigger(w):
        return w.trigger(availableNow=True) if args.available_now else w

    files = trigger(
        # One file per event hour and micro-batch (not one per Kafka partition and hour:
        # thousands of small files make every later read slow).
        valid_events(d, erased)
        .repartition("event_date", "event_hour")
        .writeStream.format("parquet")
        .option("path", f"{lake}/events")
        .option("checkpointLocation", str(checkpoints / "events"))
        .partitionBy("event_date", "event_hour")
        .outputMode("append")
    ).start()
    analytics = trigger(
        d.writeStream.foreachBatch(
            analytics_writer(cfg, f"lake-{args.topic}", lake, erased)
        ).option("checkpointLocation", str(checkpoints / "analytics"))
    ).start()

    tallies, failed = follow({"events": files, "analytics": analytics}, "lake")
    spark.stop()
    if failed:
        print(
            f"lake job failed: {root_cause(failed)}. The batches committed before it are kept;"
            " run the job again once that is fixed: it resumes from its checkpoint and removes"
            " the failed batch's files.",
            file=sys.stderr,
        )
        return 1
    print(
        json.dumps(
            {
                "summary": "lake",
                "topic": args.topic,
                "records": tallies["events"].records,
                "lake": lake,
                "postgres_retries": pg.retries["analytics"],
                "stray_files_removed": stray,
                "wall_s": time.monotonic() - started,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
