"""The lake job (python/adsx_jobs/lake.py) against the real stack: after a generated run with
malformed records, the Parquet lake holds exactly the contract-valid events (checked against
the JSON Schema with jsonschema, records read back with kcat), every other record is in
rejected/ with its reason, PostgreSQL's per-minute analytics equal sums over the lake (read
with DuckDB, not Spark), and running the job again changes nothing."""

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections import Counter

import duckdb
import jsonschema
import pytest
from conftest import SOURCE_DIR, consume, delete_topic, run_adsx

SCHEMA = json.loads((SOURCE_DIR / "schemas" / "ad_event.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EVENTS = int(os.environ.get("ADSX_IT_LAKE_EVENTS", "40000"))
PSQL = ["psql", "-h", "127.0.0.1", "-U", "adsx", "-d", "adstreamx", "-At", "-F", "\t", "-c"]


def psql(sql: str) -> list[list[str]]:
    r = subprocess.run([*PSQL, sql], capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def contract_valid(value: str, now_ms: int) -> bool:
    try:
        e = json.loads(value)
        VALIDATOR.validate(e)
    except (json.JSONDecodeError, jsonschema.ValidationError):
        return False
    if e["event_time"] > now_ms + 300_000:
        return False
    return e["event_type"] == "conversion" or e["revenue"] == 0


@pytest.fixture
def names(tmp_path):
    suffix = uuid.uuid4().hex[:8]
    n = {"topic": f"it.lake.{suffix}", "lake": tmp_path / "lake"}
    yield n
    delete_topic(n["topic"])
    shutil.rmtree(SOURCE_DIR / "var" / "spark" / "checkpoints" / f"lake-{n['topic']}", True)


def run_lake(names, env):
    r = subprocess.run(
        [sys.executable, "-m", "adsx_jobs.lake", "--topic", names["topic"], "--available-now"]
        + ["--lake", str(names["lake"])],
        cwd=SOURCE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return r


def test_lake_holds_the_valid_events_and_analytics_sum_to_it(names):
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=names["topic"])
    gen = run_adsx(
        "generate", "--events", str(EVENTS), "--days", "2", "--malformed-rate", "0.03",
        "--seed", "31", env=env,
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-2000:]
    kinds = dict(re.findall(r"(\w+)=(\d+)", gen.stdout.split("malformed:")[1].splitlines()[0]))
    migrate = run_adsx("db", "migrate", env=env)
    assert migrate.returncode == 0, migrate.stderr
    psql("TRUNCATE analytics_minute, analytics_batches")

    run_lake(names, env)

    now_ms = int(time.time() * 1000)
    values = [row.split("\t", 1)[1] for row in consume(names["topic"], fmt="%o\t%s\n")]
    assert len(values) == EVENTS
    valid_ids = {json.loads(v)["event_id"] for v in values if contract_valid(v, now_ms)}

    db = duckdb.connect()
    events = f"read_parquet('{names['lake']}/events/**/*.parquet', hive_partitioning=true)"
    lake_ids = [r[0] for r in db.execute(f"SELECT event_id FROM {events}").fetchall()]
    assert len(lake_ids) == len(set(lake_ids)), "no event twice in the lake"
    assert set(lake_ids) == valid_ids, (
        f"{len(set(lake_ids) - valid_ids)} unexpected, {len(valid_ids - set(lake_ids))} missing"
    )
    # Partitioned by the event's own UTC date and hour.
    assert db.execute(
        f"SELECT count(*) FROM {events} WHERE event_date::VARCHAR <> strftime(make_timestamp("
        "event_time * 1000), '%Y-%m-%d') OR event_hour <> hour(make_timestamp(event_time * 1000))"
    ).fetchone() == (0,)

    # Everything else is in rejected/, with its reason.
    rejected = f"read_parquet('{names['lake']}/rejected/**/*.parquet', hive_partitioning=true)"
    reasons = Counter(
        dict(db.execute(f"SELECT reason, count(*) FROM {rejected} GROUP BY reason").fetchall())
    )
    assert sum(reasons.values()) + len(lake_ids) == EVENTS
    assert reasons["malformed_json"] == int(kinds["truncated_json"])
    assert reasons["missing_or_wrong_type"] == int(kinds["wrong_type"]) + int(
        kinds["missing_field"]
    )
    assert reasons["unknown_event_type"] == int(kinds["unknown_event_type"])
    assert reasons["negative_amount"] == int(kinds["negative_revenue"])
    assert reasons["future_timestamp"] == int(kinds["future_timestamp"])

    # Analytics per minute = the lake's sums, row for row.
    lake_minutes = db.execute(
        f"""SELECT strftime(date_trunc('minute', make_timestamp(event_time * 1000)),
                            '%Y-%m-%d %H:%M'),
                   ad_id, coalesce(experiment, ''), coalesce(arm, ''), device, geo,
                   count(*) FILTER (event_type = 'impression'),
                   count(*) FILTER (event_type = 'click'),
                   count(*) FILTER (event_type = 'conversion'), sum(price), sum(revenue)
            FROM {events} GROUP BY ALL"""
    ).fetchall()
    expected = {tuple(map(str, r[:6])): r[6:] for r in lake_minutes}
    rows = psql(
        "SELECT to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), ad_id, experiment, "
        "arm, device, geo, impressions, clicks, conversions, spend, revenue FROM analytics_minute"
    )
    got = {tuple(r[:6]): r[6:] for r in rows}
    assert got.keys() == expected.keys()
    for k, (imp, clk, conv, spend, revenue) in expected.items():
        g = got[k]
        assert (int(g[0]), int(g[1]), int(g[2])) == (imp, clk, conv), k
        assert abs(float(g[3]) - spend) < 1e-6 and abs(float(g[4]) - revenue) < 1e-6, k

    # Running again resumes from the checkpoints: nothing new, nothing twice.
    before = psql("SELECT sum(impressions), sum(clicks), count(*) FROM analytics_minute")
    again = run_lake(names, env)
    assert '"records": 0' in again.stdout, again.stdout[-1000:]
    assert db.execute(f"SELECT count(*) FROM {events}").fetchone() == (len(lake_ids),)
    assert psql("SELECT sum(impressions), sum(clicks), count(*) FROM analytics_minute") == before
