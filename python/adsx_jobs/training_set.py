"""Point-in-time training sets (issue #5): each impression of a date range, labelled, with the
features serving would have seen at that moment and nothing later.

  .venv/bin/python -m adsx_jobs.training_set --from 2026-11-20 --to 2026-11-24

Labels: clicked = a click on the same request within --click-window-min minutes of the
impression; converted = a conversion on it within --conversion-window-h hours. Impressions whose
conversion window is not over by the lake's newest event are left out (their labels are not
final), and counted in the manifest.

Features, each group with its as-of time (always before the impression's time):
  batch_*    the daily job's views (user, ad, campaign, ad_device, ad_geo) as of the end of the
             day before the impression (as_of = that midnight): run adsx_jobs.daily for those
             days first; missing days leave nulls, reported as coverage in the manifest.
  stream_*   what `adsx stream` would have served, recomputed from the lake with its tile rule
             (src/adsx/features/tiles.h): ad impressions and clicks over 5 min and 1 h, user
             impressions and clicks over 1 h and 24 h, user×campaign impressions and clicks
             over 24 h (hour tiles, the frequency counters), and the user's recency overall
             and for this ad. A window sums the
             tiles (tile(t) - w, tile(t)], the current tile holding only events before t.
             User features only where the impression's consent allows personalisation.

Orphan clicks and conversions (no impression in the lake) count nowhere, as online.
Output: Parquet under {lake}/training/{name}/ plus manifest.json beside it (rows, label rates,
feature list, time range, coverage).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from adsx_jobs import config as adsx_config
from adsx_jobs import contracts
from adsx_jobs import events as contract
from adsx_jobs.daily import DAILY_COLUMNS, events_until
from adsx_jobs.spark import session

# The tile widths of the stream engine's windows (schemas/online_store.json).
MINUTE, HOUR = contracts.tile_width_ms("minute"), contracts.tile_width_ms("hour")
# The daily job's views a row takes batch_{view}_* features from, and their keys
# (schemas/model_row.json).
BATCH_VIEWS = {
    view: list(v["keys"])
    for view, v in contracts.model_row()["batch_views"].items()
    if view != "description"
}


def labelled(e: DataFrame, first: dt.date, last: dt.date, click_ms: int, conv_ms: int):
    imps = e.where(
        (F.col("event_type") == "impression")
        & F.col("event_date").between(F.lit(first.isoformat()), F.lit(last.isoformat()))
    ).select(
        "event_id", "event_time", "user_id", "ad_id", "campaign_id", "device", "geo",
        "placement", "slot", "bid", "consent", "request_id", "experiment", "arm",
    )  # fmt: skip
    newest = e.agg(F.max("event_time")).first()[0]
    final = imps.where(F.col("event_time") + conv_ms <= newest)
    follow = e.where(F.col("event_type") != "impression").select(
        "request_id", F.col("event_type").alias("kind"), F.col("event_time").alias("at")
    )
    j = final.join(follow, "request_id", "left")
    dt_ = F.col("at") - F.col("event_time")
    labels = j.groupBy(*final.columns).agg(
        F.max(((F.col("kind") == "click") & dt_.between(0, click_ms)).cast("int")).alias("clicked"),
        F.max(((F.col("kind") == "conversion") & dt_.between(0, conv_ms)).cast("int")).alias(
            "converted"
        ),
    )
    return labels.fillna(0, ["clicked", "converted"]), imps.count() - final.count()


def window_counts(
    imps: DataFrame, e: DataFrame, key: list[str], width: int, spans: dict[str, int]
) -> DataFrame:
    """Per impression: impressions and clicks of the same `key` columns in windows of `spans`
    tiles of `width` ms ending with the impression's tile, counting only events before the
    impression: the window's closed tiles (closed_tile_sums) plus the events of the
    impression's own tile before it (same_tile_counts)."""
    tiles = (
        e.withColumn("tile", F.floor(F.col("event_time") / width))
        .groupBy(*key, "tile")
        .agg(
            F.sum((F.col("event_type") == "impression").cast("long")).alias("i"),
            F.sum((F.col("event_type") == "click").cast("long")).alias("c"),
        )
    )
    q = imps.select("event_id", *key, "event_time").withColumn(
        "t_tile", F.floor(F.col("event_time") / width)
    )
    out = (
        imps.select("event_id")
        .join(closed_tile_sums(tiles, q, key, spans), "event_id", "left")
        .join(same_tile_counts(q, e, key, width), "event_id", "left")
        .fillna(0)
    )
    cols = [F.col("event_id")]
    for name in spans:
        for x, label in (("i", "impressions"), ("c", "clicks")):
            cols.append((F.col(f"{name}_{x}") + F.col(f"cur_{x}")).alias(f"{name}_{label}"))
    return out.select(*cols)


def closed_tile_sums(
    tiles: DataFrame, q: DataFrame, key: list[str], spans: dict[str, int]
) -> DataFrame:
    """Per impression of `q` (event_id, `key`, t_tile): `{name}_i` and `{name}_c`, the counts
    of `tiles` (`key`, tile, i, c) in the `n` tiles before t_tile, for each `name: n` of `spans`.

    By prefix sums: with S(x) the key's counts in tiles <= x, a window of n tiles holds
    S(t_tile - 1) - S(t_tile - n) of them. Each impression asks for S at those tiles (a query
    row each, `ago` tiles back), sorted in among the key's tiles after a tile of the same
    number, so a running sum over the key's rows reads S there. Rows: the tiles and a few per
    impression, where pairing each impression with every tile of its window made dozens (59
    for an hour of minute tiles)."""
    ago = sorted({1, *spans.values()})
    queries = q.select(
        "event_id",
        *key,
        F.explode(F.array(*[F.lit(a) for a in ago])).alias("ago"),
        "t_tile",
    ).select(
        "event_id",
        *key,
        "ago",
        (F.col("t_tile") - F.col("ago")).alias("tile"),
        F.lit(0).cast("long").alias("i"),
        F.lit(0).cast("long").alias("c"),
        F.lit(1).alias("query"),
    )
    counted = tiles.select(
        F.lit(None).cast(q.schema["event_id"].dataType).alias("event_id"),
        *key,
        F.lit(None).cast("int").alias("ago"),
        "tile",
        "i",
        "c",
        F.lit(0).alias("query"),
    )
    running = (
        Window.partitionBy(*key)
        .orderBy("tile", "query")
        .rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    prefix = (
        counted.unionByName(queries)
        .select(
            "event_id",
            "ago",
            "query",
            F.sum("i").over(running).alias("si"),
            F.sum("c").over(running).alias("sc"),
        )
        .where(F.col("query") == 1)
    )

    def at(x: str, a: int):
        return F.max(F.when(F.col("ago") == a, F.col(x)))

    return prefix.groupBy("event_id").agg(
        *[
            (at(f"s{x}", 1) - at(f"s{x}", n)).alias(f"{name}_{x}")
            for name, n in spans.items()
            for x in ("i", "c")
        ]
    )


def same_tile_counts(q: DataFrame, e: DataFrame, key: list[str], width: int) -> DataFrame:
    """Per impression of `q` (event_id, `key`, event_time, t_tile): `cur_i` and `cur_c`, the
    impressions and clicks of events `e` of the same key in its own tile and before it."""
    same_tile = e.select(
        *key,
        F.floor(F.col("event_time") / width).alias("t_tile"),
        F.col("event_time").alias("et"),
        F.col("event_type").alias("ty"),
    )
    return (
        q.join(same_tile, [*key, "t_tile"])
        .where(F.col("et") < F.col("event_time"))
        .groupBy("event_id")
        .agg(
            F.sum((F.col("ty") == "impression").cast("long")).alias("cur_i"),
            F.sum((F.col("ty") == "click").cast("long")).alias("cur_c"),
        )
    )


def materialized(df: DataFrame, step: str, progress) -> DataFrame:
    """`df` computed now, in jobs of its own, and read back from Spark's block store afterwards.
    Planned as one query, the feature groups' joins and aggregations on event_id pipeline into
    one stage whose tasks run out of execution memory (a three-day set of the demo's 2M-event
    week did, with 4g); cut into steps, each stage holds only its own. The steps' results are
    local checkpoints: on a cluster, losing an executor fails the job (rerun it) rather than
    recomputing them."""
    out = df.localCheckpoint(eager=True)
    progress(step)
    return out


def stream_features(imps: DataFrame, e: DataFrame, progress) -> DataFrame:
    # The windows and what they count: schemas/model_row.json (serving builds rows from it too).
    ad = window_counts(imps, e, *contracts.entity_windows("ad"))
    ad = materialized(ad, "stream ad counts", progress)
    # Online, user keys only ever count events whose consent allows personalisation.
    e_user = e.where(contract.personalised("consent"))
    user = window_counts(imps, e_user, *contracts.entity_windows("user"))
    user = materialized(user, "stream user counts", progress)
    # Frequency: the user×campaign hour tiles of field c{campaign} of u:{user} (what serving caps
    # with).
    user_campaign = window_counts(imps, e_user, *contracts.entity_windows("user_campaign"))
    user_campaign = materialized(user_campaign, "stream user x campaign counts", progress)
    user = user.join(user_campaign, "event_id")
    # Recency: the user's last impression and click strictly before the impression.
    w = (
        Window.partitionBy("user_id")
        .orderBy("event_time")
        .rangeBetween(Window.unboundedPreceding, -1)
    )
    # And of this very ad (its recency in field c{campaign} of u:{user}; online it is forgotten
    # 48 h after the user's last event of the campaign, here it is not).
    w_ad = (
        Window.partitionBy("user_id", "ad_id")
        .orderBy("event_time")
        .rangeBetween(Window.unboundedPreceding, -1)
    )
    is_imp = F.col("event_type") == "impression"
    recency = (
        e_user.select("user_id", "ad_id", "event_time", "event_type", "event_id")
        .withColumn("last_imp_ad", F.max(F.when(is_imp, F.col("event_time"))).over(w_ad))
        .withColumn(
            "last_imp",
            F.max(F.when(F.col("event_type") == "impression", F.col("event_time"))).over(w),
        )
        .withColumn(
            "last_clk", F.max(F.when(F.col("event_type") == "click", F.col("event_time"))).over(w)
        )
        .where(F.col("event_type") == "impression")
        .select("event_id", "last_imp", "last_clk", "last_imp_ad")
    )
    recency = materialized(recency, "stream recency", progress)
    out = (
        imps.select("event_id", "event_time", "consent").join(ad, "event_id").join(user, "event_id")
    )
    out = out.join(recency, "event_id", "left")
    consented = contract.personalised("consent")
    user_cols = [c for c in user.columns if c != "event_id"]
    out = out.select(
        "event_id",
        *[c for c in ad.columns if c != "event_id"],
        *[F.when(consented, F.col(c)).alias(c) for c in user_cols],
        F.when(consented, (F.col("event_time") - F.col("last_imp")) / 1000.0).alias(
            "stream_user_seconds_since_impression"
        ),
        F.when(consented, (F.col("event_time") - F.col("last_clk")) / 1000.0).alias(
            "stream_user_seconds_since_click"
        ),
        F.when(consented, (F.col("event_time") - F.col("last_imp_ad")) / 1000.0).alias(
            "stream_user_ad_seconds_since_impression"
        ),
        (F.col("event_time") - 1).alias("stream_asof_ms"),
    )
    return out


def batch_features(spark, lake: str, imps: DataFrame) -> tuple[DataFrame, list[str]]:
    # The day before the impression's (t - 1 ms, so an impression at midnight sees the day
    # before that: as_of = midnight <= t - 1 < t).
    out = imps.select("event_id", "event_time", "user_id", "ad_id", "campaign_id", "device", "geo")
    out = out.withColumn(
        "feature_date", F.date_sub(F.to_date(F.timestamp_millis(F.col("event_time") - 1)), 1)
    )
    names = []
    for view, keys in BATCH_VIEWS.items():
        path = Path(lake.removeprefix("file:")) / "features" / view
        if "://" not in lake and not path.exists():
            continue
        f = spark.read.parquet(f"{lake}/features/{view}")
        values = [c for c in f.columns if c not in keys + ["date", "as_of_ms"]]
        f = f.select(
            *keys,
            F.col("date").alias("feature_date"),
            F.col("as_of_ms").alias(f"batch_{view}_asof_ms"),
            *[F.col(c).alias(f"batch_{view}_{c}") for c in values],
        )
        out = out.join(f, keys + ["feature_date"], "left")
        names += [f"batch_{view}_{c}" for c in values]
    return out.drop("event_time", "user_id", "ad_id", "campaign_id", "device", "geo"), names


def main(argv: list[str] | None = None) -> int:
    cfg = adsx_config.load()
    ap = argparse.ArgumentParser(
        prog="adsx_jobs.training_set", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    ap.add_argument("--from", dest="first", required=True, type=dt.date.fromisoformat)
    ap.add_argument("--to", dest="last", required=True, type=dt.date.fromisoformat)
    ap.add_argument("--click-window-min", type=int, default=30)
    ap.add_argument("--conversion-window-h", type=int, default=24)
    ap.add_argument("--name", help="default: FROM_TO")
    ap.add_argument("--lake", help="default: [lake] dir")
    args = ap.parse_args(argv)
    if args.last < args.first:
        ap.error("--to is before --from")
    lake = args.lake or cfg.location("lake", "dir")
    name = args.name or f"{args.first}_{args.last}"
    started = time.monotonic()
    spark = session(cfg, "adsx-training-set")
    horizon = args.last + dt.timedelta(days=args.conversion_window_h // 24 + 2)

    def progress(step: str) -> None:
        elapsed = round(time.monotonic() - started, 1)
        print(
            json.dumps({"progress": "training_set", "step": step, "elapsed_s": elapsed}), flush=True
        )

    # Read once: the labels and every feature group read the events (a dozen passes), each of
    # which would otherwise read the lake and test the orphans again.
    e = events_until(
        spark, cfg, lake, horizon, DAILY_COLUMNS + ["placement", "slot", "bid", "experiment", "arm"]
    )
    e = materialized(e, "events", progress)
    imps, unfinished = labelled(
        e, args.first, args.last, args.click_window_min * MINUTE, args.conversion_window_h * HOUR
    )
    imps = materialized(imps, "labels", progress)
    stream = materialized(stream_features(imps, e, progress), "stream features", progress)
    batch, batch_names = batch_features(spark, lake, imps)
    batch = materialized(batch, "batch features", progress)
    rows = imps.join(stream, "event_id").join(batch, "event_id").drop("consent")
    out = f"{lake}/training/{name}"
    rows.write.mode("overwrite").parquet(f"{out}/data")
    written = spark.read.parquet(f"{out}/data")
    stats = written.agg(
        F.count(F.lit(1)).alias("rows"),
        F.avg("clicked").alias("click_rate"),
        F.avg("converted").alias("conversion_rate"),
        F.min("event_time").alias("first_ms"),
        F.max("event_time").alias("last_ms"),
        *[
            F.avg(F.col(f"batch_{v}_asof_ms").isNotNull().cast("double")).alias(f"cov_{v}")
            for v in BATCH_VIEWS
            if f"batch_{v}_asof_ms" in written.columns
        ],
    ).first()
    stream_names = [c for c in stream.columns if c.startswith("stream_") and c != "stream_asof_ms"]
    manifest = {
        "name": name,
        "impression_dates": [args.first.isoformat(), args.last.isoformat()],
        "time_range_ms": [stats["first_ms"], stats["last_ms"]],
        "rows": stats["rows"],
        "left_out_unfinished_labels": unfinished,
        "labels": {
            "clicked": {"window_minutes": args.click_window_min, "rate": stats["click_rate"]},
            "converted": {
                "window_hours": args.conversion_window_h,
                "rate": stats["conversion_rate"],
            },
        },
        "features": stream_names + batch_names,
        "batch_coverage": {k[4:]: v for k, v in stats.asDict().items() if k.startswith("cov_")},
        "point_in_time": "every feature group's *_asof_ms is before the impression's event_time",
    }
    Path(out.removeprefix("file:")).mkdir(parents=True, exist_ok=True)
    if "://" not in out:
        (Path(out) / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(
        json.dumps(
            {
                "summary": "training_set",
                "path": out,
                **manifest,
                "wall_s": time.monotonic() - started,
            }
        )
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
