"""5-minute ad CTR with Spark Structured Streaming: the benchmark peer and cross-check of the
C++ stream engine (`adsx stream`, issue #4).

Reads the events topic from Kafka, counts impressions and clicks per ad in 5-minute windows
sliding by 1 minute (event time, watermark = the engine's allowed lateness), and writes every
updated window to Redis from foreachBatch:

  HSET {prefix}{ad} {window end, ms} "<impressions>:<clicks>:<smoothed ctr>"

A window [E - 5 min, E) is what `adsx stream` reads as of E - 1 ms from its minute tiles, so for
a closed window both engines must hold the same counts (tests/integration/test_stream_spark.py).
Values are absolute (update mode), so a replayed micro-batch rewrites the same values.

It counts the records that decode to the event contract's types and are not from the future;
the C++ engine's other checks (catalog, lateness per partition, orphans, message key) are not
repeated: on a clean topic both count every event.

  .venv/bin/python -m adsx_jobs.stream_ctr --available-now          # catch up, then stop
  .venv/bin/python -m adsx_jobs.stream_ctr                          # run until interrupted
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from adsx_jobs import config as adsx_config
from adsx_jobs import contracts, store
from adsx_jobs.spark import follow, kafka_stream, session

EVENT = T.StructType(
    [
        T.StructField("event_type", T.StringType()),
        T.StructField("event_time", T.LongType()),
        T.StructField("ad_id", T.LongType()),
    ]
)
PRIOR_CTR, PRIOR_WEIGHT = contracts.ctr_prior()  # schemas/online_store.json, as online


def windows(events: DataFrame, lateness_s: int, max_future_ms: int) -> DataFrame:
    e = (
        events.select(F.from_json(F.col("value").cast("string"), EVENT).alias("e"))
        .select("e.*")
        .where(
            F.col("event_type").isin("impression", "click", "conversion")
            & F.col("ad_id").isNotNull()
            & F.col("event_time").isNotNull()
            & (F.col("event_time") <= F.unix_millis(F.current_timestamp()) + max_future_ms)
        )
        .withColumn("ts", F.timestamp_millis("event_time"))
        .withWatermark("ts", f"{lateness_s} seconds")
    )
    return e.groupBy(F.window("ts", "5 minutes", "1 minute"), "ad_id").agg(
        F.sum(F.when(F.col("event_type") == "impression", 1).otherwise(0)).alias("impressions"),
        F.sum(F.when(F.col("event_type") == "click", 1).otherwise(0)).alias("clicks"),
    )


def redis_writer(redis_cfg: dict, prefix: str, ttl_s: int):
    def write_partition(rows) -> None:
        r = store.client({"redis": redis_cfg})
        pipe = r.pipeline(transaction=False)
        for n, row in enumerate(rows, 1):
            end_ms = int(row["window"]["end"].timestamp() * 1000)
            ctr = (row["clicks"] + PRIOR_CTR * PRIOR_WEIGHT) / (row["impressions"] + PRIOR_WEIGHT)
            key = f"{prefix}{row['ad_id']}"
            pipe.hset(key, str(end_ms), f"{row['impressions']}:{row['clicks']}:{ctr:.6g}")
            pipe.expire(key, ttl_s)
            if n % 5000 == 0:
                pipe.execute()
        pipe.execute()
        r.close()

    def write_batch(df: DataFrame, batch_id: int) -> None:
        df.foreachPartition(write_partition)

    return write_batch


def main(argv: list[str] | None = None) -> int:
    cfg = adsx_config.load()
    ap = argparse.ArgumentParser(
        prog="adsx_jobs.stream_ctr", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    ap.add_argument("--topic", default=cfg["kafka"]["events_topic"])
    ap.add_argument("--key-prefix", default="sx:ctr5:", help="Redis key prefix (default sx:ctr5:)")
    ap.add_argument(
        "--available-now", action="store_true", help="process what the topic holds, then stop"
    )
    ap.add_argument("--max-offsets-per-trigger", type=int, default=100_000)
    ap.add_argument("--checkpoint", help="default: [spark] checkpoint_dir/stream_ctr-{topic}")
    ap.add_argument("--fresh", action="store_true", help="delete the checkpoint first")
    args = ap.parse_args(argv)

    checkpoint = args.checkpoint or str(
        cfg.path("spark", "checkpoint_dir") / f"stream_ctr-{args.topic}"
    )
    if args.fresh:
        shutil.rmtree(checkpoint, ignore_errors=True)
    started = time.monotonic()
    spark = session(cfg, "adsx-stream-ctr")
    source = kafka_stream(spark, cfg, args.topic, args.max_offsets_per_trigger)
    out = windows(source, cfg["stream"]["allowed_lateness_s"], cfg["events"]["max_future_s"] * 1000)
    writer = (
        out.writeStream.outputMode("update")
        .foreachBatch(
            redis_writer(
                dict(cfg["redis"]),
                args.key_prefix,
                cfg["stream"]["ttl_hours"] * 3600,
            )
        )
        .option("checkpointLocation", checkpoint)
    )
    writer = writer.trigger(availableNow=True) if args.available_now else writer
    tallies, failed = follow({"ctr": writer.start()}, "stream_ctr")
    spark.stop()
    if failed:
        print(f"stream_ctr failed: {failed}", file=sys.stderr)
        return 1
    t = tallies["ctr"]
    print(
        json.dumps(
            {
                "summary": "stream_ctr",
                "topic": args.topic,
                "rows": t.records,
                "batches": t.batches,
                "busy_s": t.busy_ms / 1000,
                "wall_s": time.monotonic() - started,
                "records_per_s": t.records / (t.busy_ms / 1000) if t.busy_ms else 0.0,
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
