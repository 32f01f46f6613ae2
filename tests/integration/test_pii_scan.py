"""The PII scan (python/adsx_jobs/pii_scan.py) against the real stores: one piece of personal
data planted in each of a log file, Kafka, Redis, PostgreSQL and a Parquet file is found, each
named with its store and kind, and the scan exits 1; once they are removed, no finding names
where they were. (The stores are the shared stack's: what other suites left is theirs.)"""

import os
import subprocess
import sys
import uuid

import duckdb
import redis
from conftest import BOOTSTRAP, SOURCE_DIR, delete_topic, kafka_tool, psql


def pii_scan(env: dict[str, str], examples: int = 50) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "adsx_jobs.pii_scan", "--examples", str(examples)],
        env=env, cwd=SOURCE_DIR, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def test_personal_data_planted_in_each_store_is_found_and_named(tmp_path):
    tag = uuid.uuid4().hex[:8]
    var, lake = tmp_path / "var", tmp_path / "lake"
    (var / "log").mkdir(parents=True)
    lake.mkdir()
    env = dict(os.environ, ADSX_STACK__VAR_DIR=str(var), ADSX_LAKE__DIR=str(lake))
    r = redis.Redis(port=int(os.environ.get("ADSX_REDIS__PORT", "6379")))
    topic, table, key = f"it.pii.{tag}", f"it_pii_{tag}", f"it:pii:{tag}"
    try:
        (var / "log" / "app.log").write_text("connection from 2a00:1450:4001:81b::200e closed\n")
        kafka_tool(
            "org.apache.kafka.tools.TopicCommand",
            *("--bootstrap-server", BOOTSTRAP, "--create", "--topic", topic, "--partitions", "1"),
        )
        subprocess.run(
            ["kcat", "-P", "-b", BOOTSTRAP, "-t", topic],
            input='{"ip":"81.2.69.142"}\n', text=True, check=True, timeout=60,
        )  # fmt: skip
        r.hset(key, "contact", "jane.doe@example.com")
        psql(f"CREATE TABLE {table} (note text); INSERT INTO {table} VALUES ('+44 20 7946 0958')")
        duckdb.sql(
            f"COPY (SELECT 'u123' AS raw_id) TO '{lake / 'planted.parquet'}' (FORMAT parquet)"
        )
        found = pii_scan(env)
        assert found.returncode == 1, found.stdout + found.stderr
        for store, kind in [("logs", "ipv6"), ("kafka", "ipv4"), ("redis", "email"),
                            ("postgres", "phone"), ("parquet", "raw_id")]:  # fmt: skip
            assert any(line.split()[:2] == [store, kind] for line in found.stdout.splitlines()), (
                store,
                kind,
                found.stdout,
            )
        assert "jane.doe@example.com" not in found.stdout  # findings are masked
    finally:
        (var / "log" / "app.log").unlink(missing_ok=True)
        (lake / "planted.parquet").unlink(missing_ok=True)
        delete_topic(topic)
        r.delete(key)
        psql(f"DROP TABLE IF EXISTS {table}")
    after = pii_scan(env, examples=1_000_000)  # every finding named
    planted = [str(var / "log" / "app.log"), f"{topic} record", f"key {key}", f"{table} row",
               str(lake)]  # fmt: skip
    assert not [w for w in planted if w in after.stdout], after.stdout
