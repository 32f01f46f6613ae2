"""Proves adsx_jobs.daily.events_until drops orphans by the stream engine's rule
(src/adsx/features/request_log.h): a click counts only with an impression of its request within
the click window, rounded out to minutes; a conversion only with a counted click within the
conversion window, rounded out to hours (Spark local, no stack)."""

import datetime as dt

from adsx_jobs import config
from adsx_jobs.daily import DAILY_COLUMNS, events_until

MIN, HOUR = 60_000, 3_600_000
T0 = int(dt.datetime(2026, 11, 20, 1, tzinfo=dt.UTC).timestamp() * 1000)  # an hour's start


def test_follow_ups_count_only_within_their_windows(spark, tmp_path):
    # (event id, type, time, request)
    events = [
        ("i1", "impression", T0 + 59_000, "r1"),
        ("c1", "click", T0 + HOUR + 58_000, "r1"),  # 60 min 59 s on: t0's minute still in
        ("i2", "impression", T0 + 59_000, "r2"),
        ("c2", "click", T0 + HOUR + MIN, "r2"),  # 61 min on: its window starts a minute later
        ("v1", "conversion", T0 + 24 * HOUR, "r1"),  # c1's hour is in its window
        ("v2", "conversion", T0 + 26 * HOUR, "r1"),  # 25 h after c1: out
        ("v3", "conversion", T0 + 2 * HOUR, "r2"),  # r2's click is itself an orphan
        ("i3", "impression", T0, "r3"),
        ("v4", "conversion", T0 + HOUR, "r3"),  # never clicked
        ("c5", "click", T0, "r5"),  # no impression at all
    ]
    rows = [
        {
            "event_id": e,
            "event_type": kind,
            "event_time": t,
            "event_date": dt.datetime.fromtimestamp(t / 1000, dt.UTC).date(),
            "user_id": "k1:u",
            "ad_id": 1,
            "campaign_id": 1,
            "device": "ios",
            "geo": "US-CA",
            "price": 0.0,
            "revenue": 0.0,
            "consent": "",
            "request_id": r,
        }
        for e, kind, t, r in events
    ]
    schema = (
        "event_id string, event_type string, event_time long, event_date date, user_id string, "
        "ad_id long, campaign_id long, device string, geo string, price double, revenue double, "
        "consent string, request_id string"
    )
    df = spark.createDataFrame(rows, schema).select(*DAILY_COLUMNS)
    df.write.partitionBy("event_date").parquet(str(tmp_path / "events"))
    kept = events_until(spark, config.load(), str(tmp_path), dt.date(2026, 11, 25))
    assert sorted(r.event_id for r in kept.collect()) == ["c1", "i1", "i2", "i3", "v1"]
