"""Batch benchmark: the daily job (PySpark, local[*]) over a week of events in the lake, against
the same feature SQL in DuckDB (bench/daily_duckdb.py) over the same Parquet, side by side.

Goals (DESIGN §5): <= 10x DuckDB's wall time; 10M events of 7 days <= 3 min.

  BENCH_BATCH_EVENTS=10000000 .venv/bin/python bench/batch.py

The topic is generated and archived by the lake job first (timed too, reported apart).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import uuid

from common import ADSX, ROOT, measure, table, topic_cmd, write_result

EVENTS = int(os.environ.get("BENCH_BATCH_EVENTS", "10000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def main() -> None:
    topic = f"bench.batch.{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic)
    work = tempfile.mkdtemp(prefix="adsx-bench-batch-")
    lake = f"{work}/lake"
    try:
        subprocess.run(
            [ADSX, "generate", "--events", str(EVENTS), "--days", "7", "--seed", "9"],
            env=env, check=True, capture_output=True,
        )  # fmt: skip
        ingest = measure(
            [sys.executable, "-m", "adsx_jobs.lake", "--available-now", "--fresh",
             "--topic", topic, "--lake", lake],
            env=env, unreaped_descendants=True,
        )  # fmt: skip
        day = dt.date.today() - dt.timedelta(days=1)
        runs = []
        for i in range(RUNS):
            spark = measure(
                [sys.executable, "-m", "adsx_jobs.daily", "--date", str(day), "--lake", lake],
                env=env, unreaped_descendants=True,
            )  # fmt: skip
            out = f"{work}/duckdb-{i}"
            os.makedirs(out)
            duck = measure(
                [sys.executable, str(ROOT / "bench" / "daily_duckdb.py"), lake, str(day), out],
                env=env,
            )
            views = json.loads(spark.stdout.strip().splitlines()[-1])["views"]
            duck_rows = dict(line.split() for line in duck.stdout.split("\n") if line.strip())
            assert {k: int(v) for k, v in duck_rows.items()} == views, (views, duck_rows)
            runs.append(
                {
                    "spark": spark.costs(),
                    "duckdb": duck.costs(),
                    "ratio": spark.wall_s / duck.wall_s,
                    "rows": views,
                }
            )
            print(f"run {i + 1}/{RUNS}: spark {spark.wall_s:.1f} s, duckdb {duck.wall_s:.1f} s")
    finally:
        topic_cmd("--delete", "--if-exists", "--topic", topic)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(ROOT / "var" / "spark" / "checkpoints" / f"lake-{topic}", True)

    def med(side: str, key: str) -> float:
        return statistics.median(r[side][key] for r in runs)

    ratio = statistics.median(r["ratio"] for r in runs)
    print(f"\ndaily job: {EVENTS:,} events over 7 days, features as of {day}; median of {RUNS}")
    print(
        table(
            ["engine", "wall s", "CPU s", "peak RSS MB"],
            [
                [
                    s,
                    f"{med(s, 'wall_s'):.1f}",
                    f"{med(s, 'cpu_s'):.1f}",
                    f"{med(s, 'peak_rss_mb'):.0f}",
                ]
                for s in ("spark", "duckdb")
            ],
        )
    )
    print(f"ratio spark / duckdb (wall): {ratio:.2f} (goal <= 10); spark wall goal <= 180 s")
    print(f"lake ingest (not part of the ratio): {ingest.wall_s:.1f} s for {EVENTS:,} events")
    path = write_result(
        "batch",
        {
            "events": EVENTS,
            "date": str(day),
            "runs": runs,
            "median_ratio": ratio,
            "goal_ratio": 10,
            "goal_spark_wall_s": 180,
            "lake_ingest_wall_s": ingest.wall_s,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
