"""The daily job's features (python/adsx_jobs/daily.py) in DuckDB: the batch benchmark's
baseline, the same computation over the same lake, written to Parquet like the Spark job.

  .venv/bin/python bench/daily_duckdb.py LAKE DATE OUT_DIR
"""

from __future__ import annotations

import datetime as dt
import sys

import duckdb

from adsx_jobs import config, contracts, pg


def main(lake: str, day: dt.date, out: str) -> None:
    end_ms = int(dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC).timestamp())
    end_ms *= 1000
    db = duckdb.connect()
    with pg.connect(config.load()) as conn:  # the catalog's budgets, as the Spark job reads them
        budgets = conn.execute("SELECT campaign_id, daily_budget::float8 FROM campaigns").fetchall()
    db.execute("CREATE TABLE budget (campaign_id BIGINT, daily_budget DOUBLE)")
    db.executemany("INSERT INTO budget VALUES (?, ?)", budgets)
    db.execute(f"""
        CREATE VIEW lake AS SELECT * FROM read_parquet('{lake}/events/**/*.parquet',
            hive_partitioning = true) WHERE event_time < {end_ms};
        CREATE TABLE ev AS SELECT * FROM lake WHERE event_type = 'impression'
            OR request_id IN (SELECT request_id FROM lake WHERE event_type = 'impression');
        CREATE VIEW week AS SELECT * FROM ev WHERE event_time >= {end_ms} - 7 * 86400000;
    """)
    # Consent strings repeat: decode each distinct one once, join the answers.
    consents = [r[0] for r in db.execute("SELECT DISTINCT consent FROM ev").fetchall()]
    db.execute("CREATE TABLE consent_ok (consent VARCHAR, ok BOOLEAN)")
    db.executemany(
        "INSERT INTO consent_ok VALUES (?, ?)", [(c, contracts.personalised(c)) for c in consents]
    )
    counts = """count(*) FILTER (event_type = 'impression') AS impressions_7d,
        count(*) FILTER (event_type = 'click') AS clicks_7d,
        count(*) FILTER (event_type = 'conversion') AS conversions_7d"""
    rates = """(clicks_7d + 3.0) / (impressions_7d + 200.0) AS ctr_7d,
        CASE WHEN clicks_7d > 0 THEN conversions_7d / clicks_7d END AS cvr_7d"""
    money = f"""sum(price) AS spend_7d, sum(revenue) AS revenue_7d,
        coalesce(sum(price) FILTER (event_time >= {end_ms} - 86400000), 0) AS spend_today"""
    hours = ", ".join(
        f"count(*) FILTER (event_type = 'impression' AND hour(make_timestamp(event_time * 1000))"
        f" = {h}) AS i{h}, count(*) FILTER (event_type = 'click' AND "
        f"hour(make_timestamp(event_time * 1000)) = {h}) AS c{h}"
        for h in range(24)
    )
    views = {
        "user": f"""
            WITH latest AS (
                SELECT user_id, arg_max(consent, (event_time, event_id)) AS consent,
                       sum(revenue) AS lifetime_value,
                       max(event_time) FILTER (event_type = 'impression') AS last_impression_ms,
                       max(event_time) FILTER (event_type = 'click') AS last_click_ms
                FROM ev GROUP BY user_id),
            w AS (SELECT user_id, {counts}, sum(revenue) AS revenue_7d, {hours}
                  FROM week GROUP BY user_id),
            j AS (SELECT l.user_id, l.lifetime_value, l.last_impression_ms, l.last_click_ms,
                         coalesce(impressions_7d, 0) AS impressions_7d,
                         coalesce(clicks_7d, 0) AS clicks_7d,
                         coalesce(conversions_7d, 0) AS conversions_7d,
                         coalesce(revenue_7d, 0) AS revenue_7d,
                         [{", ".join(f"coalesce(i{h}, 0)" for h in range(24))}] AS impressions_by_hour,
                         [{", ".join(f"coalesce(c{h}, 0)" for h in range(24))}] AS clicks_by_hour
                  FROM latest l LEFT JOIN w USING (user_id)
                  WHERE l.consent IN (SELECT consent FROM consent_ok WHERE ok))
            SELECT *, {rates}, {end_ms} AS as_of_ms FROM j""",
        "ad": f"""SELECT *, {rates}, CASE WHEN spend_7d > 0 THEN revenue_7d / spend_7d END AS roas_7d,
                         CASE WHEN conversions_7d > 0 THEN spend_7d / conversions_7d END AS cpa_7d,
                         {end_ms} AS as_of_ms
                  FROM (SELECT ad_id, campaign_id, {counts}, {money} FROM week GROUP BY ALL)""",
        "campaign": f"""SELECT c.*, {rates},
                         CASE WHEN spend_7d > 0 THEN revenue_7d / spend_7d END AS roas_7d,
                         CASE WHEN conversions_7d > 0 THEN spend_7d / conversions_7d END AS cpa_7d,
                         CASE WHEN daily_budget > 0 THEN spend_today / daily_budget END AS pacing,
                         {end_ms} AS as_of_ms
                  FROM (SELECT campaign_id, {counts}, {money} FROM week GROUP BY ALL) c
                  LEFT JOIN budget USING (campaign_id)""",
        "ad_device": f"""SELECT ad_id, device, impressions_7d, clicks_7d, {rates.split(",")[0]},
                         {end_ms} AS as_of_ms
                  FROM (SELECT ad_id, device, {counts} FROM week GROUP BY ALL)""",
        "ad_geo": f"""SELECT ad_id, geo, impressions_7d, clicks_7d, {rates.split(",")[0]},
                         {end_ms} AS as_of_ms
                  FROM (SELECT ad_id, geo, {counts} FROM week GROUP BY ALL)""",
    }
    for name, sql in views.items():
        db.execute(f"COPY ({sql}) TO '{out}/{name}.parquet' (FORMAT parquet)")
        n = db.execute(f"SELECT count(*) FROM read_parquet('{out}/{name}.parquet')").fetchone()[0]
        print(f"{name} {n}")


if __name__ == "__main__":
    main(sys.argv[1], dt.date.fromisoformat(sys.argv[2]), sys.argv[3])
