"""Contract benchmark: what the lake job's event contract (adsx_jobs.events: the rules of
schemas/ad_event.schema.json as Spark SQL) costs per record, against the least a Spark job can
do to read events: `from_json` with the schema's types and nothing checked (lenient: it takes
trailing bytes, repeated members, strings for numbers' text...). Same records, same session
(local[*]), alternated runs, medians. No stack needed.

Records: valid events as the generator writes them, with BENCH_CONTRACT_FUZZED (0.1) of them
mutated by tests/integration/event_fuzz.py; BENCH_CONTRACT_RECORDS (1,000,000), cached in memory
before timing. Writes bench/results/contract.json.

  .venv/bin/python bench/contract.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

from common import table, write_result

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "python"), str(ROOT / "tests" / "integration")]

from event_fuzz import mutated  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402

from adsx_jobs import config, events  # noqa: E402
from adsx_jobs.spark import session  # noqa: E402

RECORDS = int(os.environ.get("BENCH_CONTRACT_RECORDS", "1000000"))
FUZZED = float(os.environ.get("BENCH_CONTRACT_FUZZED", "0.1"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def seed(rng: random.Random, i: int, now_ms: int) -> dict:
    kind = ["impression", "click", "conversion"][i % 3]
    return {
        "schema_version": 1, "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": kind, "event_time": now_ms - 3_600_000 + i,
        "user_id": f"k1:{rng.getrandbits(128):032x}", "ad_id": 1 + i % 500,
        "campaign_id": 1 + i % 50, "advertiser_id": 1 + i % 10,
        "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "device": ["ios", "android", "desktop", "ctv"][i % 4], "geo": "US-CA",
        "placement": "feed", "slot": 1 + i % 3, "bid": 2.5, "price": 0.0021,
        "revenue": 1.5 if kind == "conversion" else 0, "experiment": None, "arm": None,
        "consent": "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA", "ip": "203.0.113.0",
        "user_agent": "Safari/iOS",
    }  # fmt: skip


def main() -> None:
    spark = session(config.load(), "adsx-bench-contract")
    spark.sparkContext.setLogLevel("ERROR")
    rng = random.Random(1)
    now_ms = int(time.time() * 1000)
    seeds = [seed(rng, i, now_ms) for i in range(2000)]
    distinct = list(mutated(seeds, 20_000, seed=3, valid_share=1 - FUZZED))
    base = spark.createDataFrame([(r,) for r in distinct], "value binary")
    copies = spark.range(max(1, RECORDS // len(distinct))).withColumnRenamed("id", "k")
    df = base.crossJoin(copies).select("value").repartition(4).cache()
    n = df.count()
    names = [name for name, _ in events.properties()]
    typed = events._typed_schema()

    def lenient():
        e = F.from_json(F.col("value").cast("string"), typed)
        return df.select(e.alias("e")).agg(F.sum(F.hash("e.*"))).collect()

    def contract():
        d = events.decoded(df).withColumn("reason", events.verdict("d", 300_000))
        cols = d.select("reason", *events.columns("d"))
        return cols.groupBy("reason").agg(F.count("*"), F.sum(F.hash(*names))).collect()

    times: dict[str, list[float]] = {"lenient": [], "contract": []}
    for i in range(RUNS + 1):  # the first pair warms the JIT up and is not counted
        order = [("lenient", lenient), ("contract", contract)]
        for name, run in order if i % 2 else reversed(order):
            started = time.perf_counter()
            run()
            if i:
                times[name].append(time.perf_counter() - started)
    spark.stop()
    us = {k: statistics.median(v) / n * 1e6 for k, v in times.items()}
    ratio = us["contract"] / us["lenient"]
    print(
        table(
            ["records", "fuzzed", "lenient from_json µs/record", "contract µs/record", "ratio"],
            [[f"{n:,}", FUZZED, f"{us['lenient']:.2f}", f"{us['contract']:.2f}", f"{ratio:.2f}"]],
        )
    )
    path = write_result(
        "contract",
        {"records": n, "fuzzed_share": FUZZED, "runs": times, "us_per_record": us, "ratio": ratio},
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
