"""The point-in-time training set (python/adsx_jobs/training_set.py) in DuckDB, over the same
lake: the baseline of bench/training_set.py and the row-for-row oracle of the lake suite
(tests/integration/test_lake.py). Written from the rules, not from the Spark job's code: the
job's docstring, schemas/model_row.json (windows, recency, batch views) and the orphan rule of
adsx_jobs/daily.py. Where the job counts a window by prefix sums over tiles, this counts it by
as-of joins on each key's running counts: C(< t) − C(< the window's first tile's start).

  .venv/bin/python bench/peers/training_set_duckdb.py LAKE FROM TO OUT_DIR \\
      [--click-window-min 30] [--conversion-window-h 24]

Writes OUT_DIR/data.parquet and prints {"rows": N} as its last line. compare() sets a
DuckDB view `ts` against the job's output.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import duckdb

from adsx_jobs import config, contracts

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
# The impression's columns a row keeps (its consent only decides the user features).
IMPRESSION = ["event_id", "event_time", "user_id", "ad_id", "campaign_id", "device", "geo",
              "placement", "slot", "bid", "request_id", "experiment", "arm"]  # fmt: skip


def load_events(db, lake: str, horizon: dt.date) -> None:
    """Table ev: the lake's events up to the end of `horizon`, orphans out. A click counts with
    an impression of its request in the buckets from that of (click − click window) to its own;
    a conversion with a counted click of its request in the buckets from that of (conversion −
    conversion window) to its own (bucket widths: schemas/online_store.json request_logs)."""
    stream = config.load()["stream"]
    logs = contracts.online_store()["request_logs"]
    ib, cb = logs["impression_bucket_ms"], logs["click_bucket_ms"]
    db.execute(f"""
        CREATE TABLE lake AS SELECT * EXCLUDE (event_hour)
        FROM read_parquet('{lake}/events/*/*/*.parquet', hive_partitioning = true)
        WHERE event_date <= DATE '{horizon}';
        CREATE TABLE clicks AS SELECT x.* FROM lake x WHERE x.event_type = 'click' AND EXISTS (
            SELECT 1 FROM lake i WHERE i.event_type = 'impression' AND i.request_id = x.request_id
            AND i.event_time // {ib} BETWEEN (x.event_time - {stream["click_window_s"] * 1000}) // {ib}
                                         AND x.event_time // {ib});
        CREATE TABLE ev AS
            SELECT * FROM lake WHERE event_type = 'impression'
            UNION ALL SELECT * FROM clicks
            UNION ALL SELECT v.* FROM lake v WHERE v.event_type = 'conversion' AND EXISTS (
                SELECT 1 FROM clicks c WHERE c.request_id = v.request_id
                AND c.event_time // {cb}
                    BETWEEN (v.event_time - {stream["conversion_window_s"] * 1000}) // {cb}
                        AND v.event_time // {cb});
        DROP TABLE lake; DROP TABLE clicks;
    """)
    # Consent strings repeat: each distinct one decoded once.
    consents = [
        r[0]
        for r in db.execute("SELECT DISTINCT consent FROM ev WHERE consent NOT NULL").fetchall()
    ]
    db.execute("CREATE TABLE consent_ok (consent VARCHAR PRIMARY KEY, ok BOOLEAN)")
    db.executemany(
        "INSERT INTO consent_ok VALUES (?, ?)", [(c, contracts.personalised(c)) for c in consents]
    )


def label(db, first: dt.date, last: dt.date, click_ms: int, conv_ms: int) -> None:
    """Table imp: the range's impressions whose conversion window is over by the newest event,
    with their labels and whether their consent allows personalisation."""
    db.execute(f"""
        CREATE TABLE imp AS
        SELECT {", ".join(f"i.{c}" for c in IMPRESSION)}, coalesce(k.ok, false) AS consented,
            EXISTS (SELECT 1 FROM ev f WHERE f.request_id = i.request_id AND f.event_type = 'click'
                    AND f.event_time - i.event_time BETWEEN 0 AND {click_ms})::INT AS clicked,
            EXISTS (SELECT 1 FROM ev f WHERE f.request_id = i.request_id
                    AND f.event_type = 'conversion'
                    AND f.event_time - i.event_time BETWEEN 0 AND {conv_ms})::INT AS converted
        FROM ev i LEFT JOIN consent_ok k USING (consent)
        WHERE i.event_type = 'impression' AND i.event_date BETWEEN DATE '{first}' AND DATE '{last}'
          AND i.event_time + {conv_ms} <= (SELECT max(event_time) FROM ev)
    """)


def window_counts(db, entity: str) -> list[str]:
    """Table w_{entity}: per impression, {window}_impressions and {window}_clicks of the
    entity's windows: its events before t in the window's tiles (tile(t) − n, tile(t)]. Each
    key's running counts by time; an as-of join reads C(< X), the counts of the events before X,
    at X = t and at the start of the window's first tile. Returns the columns."""
    keys, width, spans = contracts.entity_windows(entity)
    personal = contracts.model_row()["entities"][entity]["personal"]
    k = ", ".join(keys)
    db.execute(f"""
        CREATE OR REPLACE TABLE running AS
        SELECT {k}, event_time, sum(i) OVER w AS ci, sum(c) OVER w AS cc
        FROM (SELECT {k}, event_time, count(*) FILTER (event_type = 'impression') AS i,
                     count(*) FILTER (event_type = 'click') AS c
              FROM ev {"JOIN consent_ok USING (consent) WHERE ok" if personal else ""}
              GROUP BY ALL)
        WINDOW w AS (PARTITION BY {k} ORDER BY event_time)
    """)
    bounds = {"t": "event_time"} | {
        name: f"(event_time // {width} - {n} + 1) * {width}" for name, n in spans.items()
    }
    for b, x in bounds.items():
        db.execute(f"""
            CREATE OR REPLACE TABLE at_{b} AS
            SELECT q.event_id, coalesce(r.ci, 0) AS ci, coalesce(r.cc, 0) AS cc
            FROM (SELECT event_id, {k}, {x} AS x FROM imp) q
            ASOF LEFT JOIN running r ON {" AND ".join(f"q.{c} = r.{c}" for c in keys)}
                AND q.x > r.event_time
        """)
    columns, values = [], []
    for name in spans:
        for x, kind in (("ci", "impressions"), ("cc", "clicks")):
            value = f"at_t.{x} - at_{name}.{x}"
            if personal:
                value = f"CASE WHEN imp.consented THEN {value} END"
            columns.append(f"{name}_{kind}")
            values.append(f"{value} AS {name}_{kind}")
    db.execute(f"""
        CREATE TABLE w_{entity} AS SELECT imp.event_id, {", ".join(values)}
        FROM imp JOIN at_t USING (event_id)
        {" ".join(f"JOIN at_{name} USING (event_id)" for name in spans)}
    """)
    for b in bounds:
        db.execute(f"DROP TABLE at_{b}")
    db.execute("DROP TABLE running")
    return columns


def recency(db) -> list[str]:
    """Table recency: seconds from the user's last impression, last click, and last impression
    of this ad strictly before t (events with personalisation consent; null without one, or
    when the impression's consent does not allow it)."""
    last = {
        "stream_user_seconds_since_impression": ("impression", ["user_id"]),
        "stream_user_seconds_since_click": ("click", ["user_id"]),
        "stream_user_ad_seconds_since_impression": ("impression", ["user_id", "ad_id"]),
    }
    values = []
    for name, (kind, keys) in last.items():
        on = " AND ".join(f"q.{c} = r.{c}" for c in keys)
        db.execute(f"""
            CREATE TABLE last_{name} AS
            SELECT q.event_id, r.event_time AS last_ms
            FROM imp q ASOF LEFT JOIN (
                SELECT DISTINCT {", ".join(keys)}, event_time
                FROM ev JOIN consent_ok USING (consent) WHERE ok AND event_type = '{kind}'
            ) r ON {on} AND q.event_time > r.event_time
        """)
        values.append(
            f"CASE WHEN imp.consented THEN (imp.event_time - last_{name}.last_ms) / 1000.0 END"
            f" AS {name}"
        )
    db.execute(f"""
        CREATE TABLE recency AS SELECT imp.event_id, {", ".join(values)}
        FROM imp {" ".join(f"JOIN last_{name} USING (event_id)" for name in last)}
    """)
    return list(last)


def batch(db, lake: str) -> list[str]:
    """Table batch: the daily views' columns for the impression's keys as of the end of the day
    before t's day (feature_date = date of t − 1 ms, minus one day); views not in the lake are
    left out, a missing day's row gives nulls."""
    joins, values = [], []
    for view, spec in contracts.model_row()["batch_views"].items():
        if view == "description" or not (Path(lake) / "features" / view).is_dir():
            continue
        keys = spec["keys"]
        rel = f"read_parquet('{lake}/features/{view}/*/*.parquet', hive_partitioning = true)"
        cols = [
            c
            for (c, *_) in db.execute(f"DESCRIBE SELECT * FROM {rel}").fetchall()
            if c not in [*keys, "date", "as_of_ms"]
        ]
        joins.append(
            f"LEFT JOIN {rel} v_{view} ON v_{view}.date = q.feature_date AND "
            + " AND ".join(f"v_{view}.{c} = q.{c}" for c in keys)
        )
        values.append(f"v_{view}.as_of_ms AS batch_{view}_asof_ms")
        values += [f"v_{view}.{c} AS batch_{view}_{c}" for c in cols]
    db.execute(f"""
        CREATE TABLE batch AS SELECT q.event_id, q.feature_date{"".join(", " + v for v in values)}
        FROM (SELECT *, CAST(make_timestamp((event_time - 1) * 1000) AS DATE) - 1 AS feature_date
              FROM imp) q
        {" ".join(joins)}
    """)
    return [v.split(" AS ")[1] for v in values]


def training_set(
    lake: str, first: dt.date, last: dt.date, click_min: int = 30, conv_h: int = 24
) -> duckdb.DuckDBPyConnection:
    """A connection whose view `ts` is the training set of impressions from `first` to `last`."""
    db = duckdb.connect()
    load_events(db, lake, last + dt.timedelta(days=conv_h // 24 + 2))
    label(db, first, last, click_min * MINUTE_MS, conv_h * HOUR_MS)
    windows = [c for e in ("ad", "user", "user_campaign") for c in window_counts(db, e)]
    since = recency(db)
    features = batch(db, lake)
    db.execute(f"""
        CREATE VIEW ts AS
        SELECT {", ".join(f"imp.{c}" for c in IMPRESSION)}, imp.clicked, imp.converted,
               {", ".join(windows + since)}, imp.event_time - 1 AS stream_asof_ms,
               batch.feature_date{"".join(", " + c for c in features)}
        FROM imp JOIN w_ad USING (event_id) JOIN w_user USING (event_id)
            JOIN w_user_campaign USING (event_id) JOIN recency USING (event_id)
            JOIN batch USING (event_id)
    """)
    return db


def compare(db, spark_data: str) -> dict:
    """The set in view `ts` of `db` (training_set()'s, or a view of what main() wrote) against
    the Spark job's (its data folder): the columns only one has, and the rows (all columns,
    nulls equal, doubles exact) only one has."""
    db.execute(
        f"CREATE OR REPLACE VIEW spark AS SELECT * FROM read_parquet('{spark_data}/*.parquet')"
    )
    theirs = [c for (c, *_) in db.execute("DESCRIBE spark").fetchall()]
    ours = [c for (c, *_) in db.execute("DESCRIBE ts").fetchall()]
    cols = ", ".join(c for c in ours if c in theirs)
    only = "SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})"
    return {
        "rows": db.execute("SELECT count(*) FROM spark").fetchone()[0],
        "columns_only_spark": sorted(set(theirs) - set(ours)),
        "columns_only_duckdb": sorted(set(ours) - set(theirs)),
        "rows_only_spark": db.execute(only.format(cols=cols, a="spark", b="ts")).fetchone()[0],
        "rows_only_duckdb": db.execute(only.format(cols=cols, a="ts", b="spark")).fetchone()[0],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="training_set_duckdb", description=__doc__.split("\n\n")[0])
    ap.add_argument("lake")
    ap.add_argument("first", type=dt.date.fromisoformat)
    ap.add_argument("last", type=dt.date.fromisoformat)
    ap.add_argument("out")
    ap.add_argument("--click-window-min", type=int, default=30)
    ap.add_argument("--conversion-window-h", type=int, default=24)
    args = ap.parse_args(argv)
    db = training_set(args.lake, args.first, args.last, args.click_window_min,
                      args.conversion_window_h)  # fmt: skip
    Path(args.out).mkdir(parents=True, exist_ok=True)
    db.execute(f"COPY (SELECT * FROM ts) TO '{args.out}/data.parquet' (FORMAT parquet)")
    rows = db.execute(f"SELECT count(*) FROM '{args.out}/data.parquet'").fetchone()[0]
    print(json.dumps({"rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
