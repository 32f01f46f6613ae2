"""Training-set benchmark (issue #26): the point-in-time training set of three days of a week
(python/adsx_jobs/training_set.py, PySpark local[*]) against the same set computed by DuckDB
(bench/peers/training_set_duckdb.py: as-of joins on running counts) over the same Parquet,
alternated runs, medians. The first run's two outputs are compared row for row.

Goals (issue #26): three days of a 10M-event week in <= 120 s; <= 10x DuckDB's wall time.

  BENCH_TS_EVENTS=10000000 .venv/bin/python bench/training_set.py
  BENCH_TS_LAKE=var/lake .venv/bin/python bench/training_set.py   # a lake that exists (make demo's)

A fresh run generates a week into a topic of its own, archives it with the lake job and runs the
daily job for the days the set's batch features read (timed, reported apart). With BENCH_TS_LAKE,
the set covers the three whole days before the lake's last day, and the daily features the lake
holds are used as they are (a missing day leaves nulls, the same on both sides).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import uuid

import duckdb
from common import ADSX, ROOT, measure, table, topic_cmd, write_result

sys.path.insert(0, str(ROOT / "bench" / "peers"))
import training_set_duckdb  # noqa: E402

EVENTS = int(os.environ.get("BENCH_TS_EVENTS", "10000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
DAYS = 3
CONVERSION_H = 24


def prepared_lake(work: str, env: dict[str, str]) -> tuple[str, dict]:
    """A fresh week archived into a lake under `work`, the daily features the set reads."""
    lake = f"{work}/lake"
    gen = measure([ADSX, "generate", "--events", str(EVENTS), "--days", "7", "--seed", "9"], env)
    archive = measure(
        [sys.executable, "-m", "adsx_jobs.lake", "--available-now", "--fresh",
         "--topic", env["ADSX_KAFKA__EVENTS_TOPIC"], "--lake", lake],
        env=env, unreaped_descendants=True,
    )  # fmt: skip
    first, _ = days(lake)
    daily = 0.0
    for k in range(DAYS):
        day = first - dt.timedelta(days=1) + dt.timedelta(days=k)
        daily += measure(
            [sys.executable, "-m", "adsx_jobs.daily", "--date", str(day), "--lake", lake],
            env=env, unreaped_descendants=True,
        ).wall_s  # fmt: skip
    return lake, {"generate_s": gen.wall_s, "lake_s": archive.wall_s, "daily_s": daily}


def days(lake: str) -> tuple[dt.date, dt.date]:
    """The three whole days before the lake's last day (whose events close their labels)."""
    last = (
        duckdb.connect()
        .execute(
            f"SELECT max(event_date) FROM read_parquet('{lake}/events/*/*/*.parquet',"
            " hive_partitioning = true)"
        )
        .fetchone()[0]
    )
    return last - dt.timedelta(days=DAYS), last - dt.timedelta(days=1)


def main() -> None:
    topic = f"bench.ts.{uuid.uuid4().hex[:6]}"
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic)
    work = tempfile.mkdtemp(prefix="adsx-bench-ts-")
    given = os.environ.get("BENCH_TS_LAKE")
    try:
        if given:
            lake, setup = str((ROOT / given).resolve()), {}
        else:
            lake, setup = prepared_lake(work, env)
        first, last = days(lake)
        window = ["--conversion-window-h", str(CONVERSION_H)]
        runs, compared = [], None
        for i in range(RUNS):
            name = f"bench-{uuid.uuid4().hex[:6]}"
            spark = measure(
                [sys.executable, "-m", "adsx_jobs.training_set", "--from", str(first),
                 "--to", str(last), "--name", name, "--lake", lake, *window],
                env=env, unreaped_descendants=True,
            )  # fmt: skip
            out = f"{work}/duckdb-{i}"
            duck = measure(
                [sys.executable, str(ROOT / "bench" / "peers" / "training_set_duckdb.py"),
                 lake, str(first), str(last), out, *window],
                env=env,
            )  # fmt: skip
            spark_data = f"{lake}/training/{name}/data"
            if compared is None:
                db = duckdb.connect()
                db.execute(f"CREATE VIEW ts AS SELECT * FROM '{out}/data.parquet'")
                compared = training_set_duckdb.compare(db, spark_data)
                print(f"compared row for row: {compared}", flush=True)
            shutil.rmtree(f"{lake}/training/{name}", ignore_errors=True)
            runs.append(
                {
                    "spark": spark.costs(),
                    "duckdb": duck.costs(),
                    "ratio": spark.wall_s / duck.wall_s,
                }
            )
            print(f"run {i + 1}/{RUNS}: spark {spark.wall_s:.1f} s, duckdb {duck.wall_s:.1f} s",
                  flush=True)  # fmt: skip
    finally:
        if not given:
            topic_cmd("--delete", "--if-exists", "--topic", topic)
            shutil.rmtree(ROOT / "var" / "spark" / "checkpoints" / f"lake-{topic}", True)
        shutil.rmtree(work, ignore_errors=True)

    def med(side: str, key: str) -> float:
        return statistics.median(r[side][key] for r in runs)

    ratio = statistics.median(r["ratio"] for r in runs)
    size = f"the lake {given}" if given else f"{EVENTS:,} events over 7 days"
    print(f"\ntraining set of {first} .. {last} ({compared['rows']:,} impressions), {size};"
          f" median of {RUNS}")  # fmt: skip
    rows = [[s, f"{med(s, 'wall_s'):.1f}", f"{med(s, 'cpu_s'):.1f}",
             f"{med(s, 'peak_rss_mb'):.0f}"] for s in ("spark", "duckdb")]  # fmt: skip
    print(table(["engine", "wall s", "CPU s", "peak RSS MB"], rows))
    print(f"ratio spark / duckdb (wall): {ratio:.2f} (goal <= 10); spark wall goal <= 120 s")
    if setup:
        print("before the runs (not part of the ratio): "
              + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in setup.items()))  # fmt: skip
    path = write_result(
        "training_set",
        {
            "events": None if given else EVENTS,
            "lake": given,
            "dates": [str(first), str(last)],
            "compared": compared,
            "runs": runs,
            "median_ratio": ratio,
            "goal_ratio": 10,
            "goal_spark_wall_s": 120,
            "setup": setup,
        },
    )
    print(f"results: {path}")
    same = not (compared["columns_only_spark"] or compared["columns_only_duckdb"]
                or compared["rows_only_spark"] or compared["rows_only_duckdb"])  # fmt: skip
    if not same:
        sys.exit("the two training sets differ (above)")


if __name__ == "__main__":
    main()
