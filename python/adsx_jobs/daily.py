"""Daily batch features (issue #5): from the Parquet lake, as of the end of a day D (UTC).

  .venv/bin/python -m adsx_jobs.daily --date 2026-11-25

Events used: the lake's (contract-valid) events up to the end of D, without orphans: a click
counts if an impression of its request came in the minutes from that of (click − [stream]
click_window_s) to the click's, a conversion if a counted click of its request came in the hours
from that of (conversion − conversion_window_s) to its own; the stream engine's rule
(src/adsx/features/request_log.h; bucket widths from schemas/online_store.json), so that both
count the same events. Windows: "7d" = the days D-6 .. D; lifetime = everything up to D. CTRs
are smoothed as online (the prior of schemas/online_store.json: (clicks + 3) / (impressions +
200)); CVR = conversions / clicks (null without clicks).

Feature views (one row per key, each with date and as_of_ms = the end of D):
  user          7-day impressions, clicks, ctr, conversions, cvr, revenue; lifetime value;
                impressions and clicks per UTC hour of day (24 buckets, 7 days); last
                impression and click (ms). Only users whose latest event up to D carries
                personalisation consent (TCF purposes 1, 3 and 4) and who were not erased
                (adsx_jobs.privacy), as online.
  ad, campaign  7-day impressions, clicks, ctr, conversions, cvr, spend, revenue, roas, cpa;
                spend on D; campaign: pacing = spend on D / daily budget (catalog)
  ad_device, ad_geo  7-day impressions, clicks, ctr

Written to {lake}/features/{view}/date=D/ (Parquet, that date replaced) and to PostgreSQL
table features_{view} (that date's rows replaced in one transaction): re-running a date gives
the same output, never duplicates. Data-quality gates run on every view before anything is
written; a failure stops the job with a readable report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from adsx_jobs import config as adsx_config
from adsx_jobs import contracts, events, pg, privacy
from adsx_jobs.contracts import smoothed_ctr
from adsx_jobs.quality import check, gate
from adsx_jobs.spark import session

DAY_MS = 86_400_000
LAYOUT = contracts.online_store()
IMPRESSION_BUCKET_MS = LAYOUT["request_logs"]["impression_bucket_ms"]
CLICK_BUCKET_MS = LAYOUT["request_logs"]["click_bucket_ms"]


def with_rates(df: DataFrame) -> DataFrame:
    return df.withColumn(
        "ctr_7d", smoothed_ctr(F.col("clicks_7d"), F.col("impressions_7d"))
    ).withColumn(
        "cvr_7d",
        F.when(F.col("clicks_7d") > 0, F.col("conversions_7d") / F.col("clicks_7d")),
    )


# The lake columns the daily views read (Parquet reads only these).
DAILY_COLUMNS = [
    "event_id", "event_type", "event_time", "event_date", "user_id", "ad_id", "campaign_id",
    "device", "geo", "price", "revenue", "consent", "request_id",
]  # fmt: skip


# Broadcast the requests that have follow-ups (clicks, conversions) to every task when there
# are at most this many, instead of shuffling every event by request: a week of 10M events has
# about 250k. Past it (a cluster's data), Spark's sort-merge join.
BROADCAST_REQUESTS = 2_000_000


def events_until(
    spark, cfg, lake: str, day: dt.date, columns: list[str] = DAILY_COLUMNS
) -> DataFrame:
    """The lake's events up to the end of `day` (only `columns`), orphans removed (the rule in
    the module's docstring).

    Follow-ups are a few per cent of the events, so the orphan test runs on them: their
    requests are matched against the impressions' (one pass over request_id), and the few
    impressions that match are broadcast to the pass that checks the clicks' windows. No event
    is shuffled."""
    e = (
        spark.read.parquet(f"{lake}/events")
        .where(F.col("event_date") <= F.lit(day.isoformat()).cast("date"))
        .select(*columns)
    )
    t = F.col("event_type")
    asked = e.where(t != "impression").select("request_id").distinct().persist()
    small = asked.count() <= BROADCAST_REQUESTS
    hint = F.broadcast if small else (lambda df: df)

    def follows(later: DataFrame, earlier: DataFrame, window_ms: int, width_ms: int) -> DataFrame:
        """`later`'s events with one of `earlier` of the same request in their window."""
        bucket = F.floor(F.col("event_time") / width_ms)
        before = earlier.select(F.col("request_id").alias("_r"), bucket.alias("_b")).distinct()
        first = F.floor((F.col("event_time") - window_ms) / width_ms)
        return later.join(
            hint(before),
            (F.col("request_id") == F.col("_r")) & F.col("_b").between(first, bucket),
            "left_semi",
        )

    stream = cfg["stream"]
    impressions = e.where(t == "impression")
    asked_impressions = impressions.join(hint(asked), "request_id", "left_semi")
    clicks = follows(
        e.where(t == "click"),
        asked_impressions,
        stream["click_window_s"] * 1000,
        IMPRESSION_BUCKET_MS,
    ).persist()
    conversions = follows(
        e.where(t == "conversion"), clicks, stream["conversion_window_s"] * 1000, CLICK_BUCKET_MS
    )
    return impressions.unionByName(clicks).unionByName(conversions)


def views(spark, cfg, lake: str, day: dt.date, erased: list[str] = ()) -> dict[str, DataFrame]:
    """The feature views as of the end of `day`: two aggregations over the events (one per user,
    one per ad × device × geo, which the ad-level views roll up) rather than one per view. Users
    in `erased` (adsx_jobs.privacy) get no user row, as users without consent."""
    end_ms = int(
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp() * 1000
    )
    start_ms = end_ms - 7 * DAY_MS
    all_events = events_until(spark, cfg, lake, day)
    t = F.col("event_type")
    in_week = F.col("event_time") >= start_ms
    today = F.col("event_time") >= end_ms - DAY_MS
    stamp = lambda df: df.withColumn("date", F.lit(day.isoformat()).cast("date")).withColumn(  # noqa: E731
        "as_of_ms", F.lit(end_ms)
    )

    def count_where(cond) -> Column:
        return F.sum(F.when(cond, F.lit(1)).otherwise(F.lit(0)).cast("long"))

    def week_counts() -> list[Column]:
        return [
            count_where(in_week & (t == "impression")).alias("impressions_7d"),
            count_where(in_week & (t == "click")).alias("clicks_7d"),
            count_where(in_week & (t == "conversion")).alias("conversions_7d"),
        ]

    # Users: lifetime and 7-day figures in one pass; the consent of their latest event up to D
    # decides whether they appear at all.
    # The hour-of-day bucket of each event of the week (impressions 0-23, clicks 24-47), computed
    # once per event rather than in each of the 48 sums.
    hour = F.hour(F.timestamp_millis("event_time"))
    bucket = F.when(in_week & (t == "impression"), hour).when(in_week & (t == "click"), hour + 24)
    user = (
        all_events.withColumn("bucket", bucket)
        .groupBy("user_id")
        .agg(
            F.max_by("consent", F.struct("event_time", "event_id")).alias("consent"),
            F.sum("revenue").alias("lifetime_value"),
            F.max(F.when(t == "impression", F.col("event_time"))).alias("last_impression_ms"),
            F.max(F.when(t == "click", F.col("event_time"))).alias("last_click_ms"),
            *week_counts(),
            F.sum(F.when(in_week, F.col("revenue")).otherwise(0.0)).alias("revenue_7d"),
            F.array(*[count_where(F.col("bucket") == b) for b in range(24)]).alias(
                "impressions_by_hour"
            ),
            F.array(*[count_where(F.col("bucket") == b) for b in range(24, 48)]).alias(
                "clicks_by_hour"
            ),
        )
        .where(events.personalised("consent"))
        .drop("consent")
    )
    user = privacy.keep_personal(user, list(erased))
    user = stamp(with_rates(user))

    # Ads, campaigns and their device and geo slices: sums of one small aggregate.
    week = all_events.where(in_week)
    cells = (
        week.groupBy("ad_id", "campaign_id", "device", "geo")
        .agg(
            *week_counts(),
            F.sum("price").alias("spend_7d"),
            F.sum("revenue").alias("revenue_7d"),
            F.sum(F.when(today, F.col("price")).otherwise(0.0)).alias("spend_today"),
        )
        .persist()
    )
    summed = ["impressions_7d", "clicks_7d", "conversions_7d", "spend_7d", "revenue_7d",
              "spend_today"]  # fmt: skip

    def spend_view(keys: list[str]) -> DataFrame:
        v = with_rates(cells.groupBy(*keys).agg(*[F.sum(c).alias(c) for c in summed]))
        return stamp(
            v.withColumn(
                "roas_7d", F.when(F.col("spend_7d") > 0, F.col("revenue_7d") / F.col("spend_7d"))
            ).withColumn(
                "cpa_7d",
                F.when(F.col("conversions_7d") > 0, F.col("spend_7d") / F.col("conversions_7d")),
            )
        )

    with pg.connect(cfg) as conn:
        budgets = conn.execute("SELECT campaign_id, daily_budget::float8 FROM campaigns").fetchall()
    budget = spark.createDataFrame(budgets, "campaign_id long, daily_budget double")
    campaign = spend_view(["campaign_id"]).join(budget, "campaign_id", "left")
    campaign = campaign.withColumn(
        "pacing", F.when(F.col("daily_budget") > 0, F.col("spend_today") / F.col("daily_budget"))
    ).drop("daily_budget")

    def slice_view(keys: list[str]) -> DataFrame:
        v = cells.groupBy(*keys).agg(*[F.sum(c).alias(c) for c in ("impressions_7d", "clicks_7d")])
        return stamp(
            v.withColumn("ctr_7d", smoothed_ctr(F.col("clicks_7d"), F.col("impressions_7d")))
        )

    return {
        "user": user,
        "ad": spend_view(["ad_id", "campaign_id"]),
        "campaign": campaign,
        "ad_device": slice_view(["ad_id", "device"]),
        "ad_geo": slice_view(["ad_id", "geo"]),
    }


KEYS = {
    "user": ["user_id"],
    "ad": ["ad_id"],
    "campaign": ["campaign_id"],
    "ad_device": ["ad_id", "device"],
    "ad_geo": ["ad_id", "geo"],
}


def quality(name: str, df: DataFrame) -> list[str]:
    rules = [
        check.rows_at_least(1),
        check.unique(KEYS[name]),
        check.no_nulls(KEYS[name] + ["impressions_7d", "clicks_7d", "as_of_ms"]),
    ]
    rules += [check.between("ctr_7d", 0.0, 1.0), check.at_least("impressions_7d", 0)]
    if "cvr_7d" in df.columns:
        rules.append(check.between("cvr_7d", 0.0, None))
    if "spend_7d" in df.columns:
        rules += [check.at_least("spend_7d", 0.0), check.at_least("revenue_7d", 0.0)]
    return [f"{name}: {p}" for p in gate(df, rules)]


def write_postgres(cfg, name: str, df: DataFrame, day: dt.date) -> int:
    """Replaces the date's rows of features_{name} (deploy/postgres/migrations/0003_features.sql:
    `adsx db migrate` first). Spark's tasks insert the rows into a staging table over JDBC, so
    they never pass through the driver; one transaction then swaps them in, so readers see the
    date's old rows or its new ones, never a mix."""
    table = f"features_{name}"
    staging = f"{table}_load_{day:%Y%m%d}"
    pg.stage(cfg, df, table, staging)
    cols = ", ".join(df.columns)
    with pg.connect(cfg) as conn:  # one transaction, committed on leaving the block
        conn.execute(f"DELETE FROM {table} WHERE date = %s", (day,))
        n = conn.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging}").rowcount
        conn.execute(f"DROP TABLE {staging}")
    return n


def main(argv: list[str] | None = None) -> int:
    cfg = adsx_config.load()
    ap = argparse.ArgumentParser(
        prog="adsx_jobs.daily", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    ap.add_argument(
        "--date", required=True, type=dt.date.fromisoformat, help="the day D, YYYY-MM-DD (UTC)"
    )
    ap.add_argument("--lake", help="default: [lake] dir")
    args = ap.parse_args(argv)
    lake = args.lake or cfg.location("lake", "dir")
    started = time.monotonic()
    spark = session(cfg, "adsx-daily")
    erased = privacy.suppressed(cfg)
    out = {k: v.persist() for k, v in views(spark, cfg, lake, args.date, erased).items()}

    def progress(step: str, **fields) -> None:
        elapsed = round(time.monotonic() - started, 1)
        print(
            json.dumps({"progress": "daily", "step": step, **fields, "elapsed_s": elapsed}),
            flush=True,
        )

    progress("started")
    failures = [f for name, df in out.items() for f in quality(name, df)]
    progress("quality gates", failures=len(failures))
    if failures:
        print(
            "data-quality gates failed; nothing written:\n  " + "\n  ".join(failures),
            file=sys.stderr,
        )
        spark.stop()
        return 1
    summary = {"summary": "daily", "date": args.date.isoformat(), "views": {}}
    for name, df in out.items():
        path = f"{lake}/features/{name}/date={args.date.isoformat()}"
        df.drop("date").write.mode("overwrite").parquet(path)
        progress("parquet", view=name)
        n = write_postgres(cfg, name, df, args.date)
        summary["views"][name] = n
        progress("postgres", view=name, rows=n)
    summary["wall_s"] = time.monotonic() - started
    print(json.dumps(summary), flush=True)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
