"""Erasure in the Parquet lake (issue #23) on the real stack: a generated topic archived by the lake
job, daily features and a training set built from it; a user with rows in all of them is erased
(`adsx privacy erase`, then the Spark job adsx_jobs.lake_erase). Checked with DuckDB (not our
reader): no value anywhere names the user; their events keep their place with the personal fields
emptied and every other value as it was; their feature rows are gone and their training rows keep
labels and ad features only; every other row is byte-for-byte what it was (checksums); Spark
readers still read the lake through the file sink's log and compute the same ad features; the
ledger is stamped and `verify` says so; a killed run's leftovers are removed by the next; a replay
of the topic through the lake job writes exactly the erased lake. Retention's part: event
partitions past policy leave the sink's log, and Spark still reads the rest."""

import datetime
import fcntl
import json
import os
import shutil
import subprocess
import sys
import uuid

import duckdb
import pytest
from conftest import SOURCE_DIR, delete_topic, drop_lake_checkpoints, psql, run_adsx, run_job

EVENTS = 20_000
PERSONAL = ("user_id", "consent", "ip", "user_agent")  # adsx_jobs.privacy.EVENT_PERSONAL


def source(root, dataset: str) -> str:
    paths = {
        "events": "events/*/*/*.parquet",
        "features_user": "features/user/*/*.parquet",
        "features_ad": "features/ad/*/*.parquet",
        "training": "training/it/data/*.parquet",
        "rejected": "rejected/*/*.parquet",
    }
    return f"read_parquet('{root}/{paths[dataset]}', hive_partitioning=true)"


def digest(root, dataset: str, where: str = "true", columns: str = "*") -> tuple:
    """Rows and a checksum of their every value (DuckDB)."""
    return duckdb.execute(
        f"SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, '|' ORDER BY t::VARCHAR), ''))"
        f" FROM (SELECT {columns} FROM {source(root, dataset)} WHERE {where}) t"
    ).fetchone()


def ad_features(root) -> list[tuple]:
    """The ad feature rows in key order: the exact values, then the sums of money with what
    follows from them (rounding-level differences when Spark adds them up in another order)."""
    return duckdb.execute(
        f"SELECT * EXCLUDE (spend_7d, revenue_7d, spend_today, roas_7d, cpa_7d),"
        f" [spend_7d, revenue_7d, spend_today, coalesce(roas_7d, -1), coalesce(cpa_7d, -1)]"
        f" FROM {source(root, 'features_ad')} ORDER BY ad_id"
    ).fetchall()


def naming(root, dataset: str, user: str) -> int:
    """Rows of a dataset with any value holding the user's pseudonym."""
    return duckdb.execute(
        f"SELECT count(*) FROM {source(root, dataset)} t WHERE contains(t::VARCHAR, '{user}')"
    ).fetchone()[0]


def lake_job(env, topic: str, root) -> None:
    run_job(env, "adsx_jobs.lake", "--topic", topic, "--available-now", "--fresh",
            "--lake", str(root))  # fmt: skip


def lake_erase(env, root, *args: str) -> dict:
    run = run_job(env, "adsx_jobs.lake_erase", "--lake", str(root), *args)
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    topic = f"it.privlake.{uuid.uuid4().hex[:8]}"
    root = tmp_path_factory.mktemp("lake")
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic)
    gen = run_adsx("generate", "--events", str(EVENTS), "--days", "3", "--malformed-rate", "0.02",
                   "--seed", "41", env=env)  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-2000:]
    lake_job(env, topic, root)
    last = duckdb.execute(f"SELECT max(event_date) FROM {source(root, 'events')}").fetchone()[0]
    day = last - datetime.timedelta(days=1)
    feature_day = str(day - datetime.timedelta(days=1))
    run_job(env, "adsx_jobs.daily", "--date", feature_day, "--lake", str(root))
    run_job(env, "adsx_jobs.training_set", "--from", str(day), "--to", str(day),
            "--conversion-window-h", "2", "--name", "it", "--lake", str(root))  # fmt: skip
    # The user with the most events among those with a feature row and a personalised training row.
    user = duckdb.execute(
        f"SELECT e.user_id FROM {source(root, 'events')} e"
        f" WHERE e.user_id IN (SELECT user_id FROM {source(root, 'features_user')})"
        f" AND e.user_id IN (SELECT user_id FROM {source(root, 'training')}"
        "                    WHERE stream_user_24h_impressions IS NOT NULL)"
        " GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    ).fetchone()[0]
    before = {
        "others": {d: digest(root, d, f"user_id <> '{user}'")
                   for d in ("events", "features_user", "training")},  # fmt: skip
        "rejected": digest(root, "rejected", f"NOT contains(raw::VARCHAR, '{user}')"),
        "user_events": digest(root, "events", f"user_id = '{user}'",
                              f"* EXCLUDE ({', '.join(PERSONAL)})"),  # fmt: skip
        "user_training": digest(root, "training", f"user_id = '{user}'",
                                "event_id, clicked, converted, COLUMNS('^stream_ad_|^batch_ad_')"),
        "features_ad": ad_features(root),
        "events": digest(root, "events", columns="* EXCLUDE (ingested_at)"),
    }  # fmt: skip
    assert all(naming(root, d, user) > 0 for d in ("events", "features_user", "training"))
    yield {"env": env, "topic": topic, "root": root, "user": user, "before": before,
           "feature_day": feature_day}  # fmt: skip
    delete_topic(topic)
    drop_lake_checkpoints(topic)
    psql(f"DELETE FROM privacy_suppressed WHERE user_id = '{user}'")
    psql(f"DELETE FROM privacy_requests WHERE user_id = '{user}'")


def test_erasure_rewrites_exactly_the_users_rows_in_every_dataset(world):
    env, root, user, before = world["env"], world["root"], world["user"], world["before"]
    e = run_adsx("privacy", "erase", "--user", user, env=env, timeout=120)
    assert e.returncode == 0, e.stdout + e.stderr
    assert "lake      not rewritten yet" in e.stdout, e.stdout
    events_of_user = before["user_events"][0]

    summary = lake_erase(env, root)
    assert summary["left"] == 0 and summary["rewritten"] >= 3, summary
    assert summary["requests_stamped"] == 1, summary

    for dataset in ("events", "features_user", "training", "rejected"):
        assert naming(root, dataset, user) == 0, dataset
    # Every other row as it was.
    for dataset, was in before["others"].items():
        assert digest(root, dataset, "user_id IS NOT NULL") == was, dataset
    assert digest(root, "rejected", "raw IS NOT NULL") == before["rejected"]
    # The user's events: in place, personal fields empty, every other value unchanged.
    emptied = " AND ".join(f"{c} IS NULL" for c in PERSONAL)
    assert (
        digest(root, "events", emptied, f"* EXCLUDE ({', '.join(PERSONAL)})")
        == before["user_events"]
    )
    # Their training rows: labels and ad features kept, user id and user features emptied.
    rows = duckdb.execute(
        f"SELECT count(*), count(*) FILTER (WHERE stream_user_24h_impressions IS NULL"
        f" AND batch_user_asof_ms IS NULL) FROM {source(root, 'training')} WHERE user_id IS NULL"
    ).fetchone()
    assert rows[0] == rows[1] == before["user_training"][0] > 0
    assert (
        digest(root, "training", "user_id IS NULL",
               "event_id, clicked, converted, COLUMNS('^stream_ad_|^batch_ad_')")
        == before["user_training"]
    )  # fmt: skip

    # The ledger has the lake's part, and verify says so.
    (stamped, lake) = psql(
        "SELECT lake_erased_at IS NOT NULL, stores->'lake' FROM privacy_requests"
        f" WHERE user_id = '{user}'"
    )[0]
    assert stamped == "t"
    assert json.loads(lake)["events_rows"] == events_of_user
    v = run_adsx("privacy", "verify", "--user", user, env=env)
    assert "lake      rewritten and scanned clean at" in v.stdout, v.stdout
    assert v.returncode == 3  # the topic still holds the user's records (test_privacy_kafka.py)


def test_spark_readers_see_the_rewritten_lake_and_ad_features_do_not_change(world):
    env, root, user = world["env"], world["root"], world["user"]
    # The daily job reads events/ through the sink's log (a replaced file still listed would
    # fail the read): the same ad features as before, and no row for the erased user.
    run_job(env, "adsx_jobs.daily", "--date", world["feature_day"], "--lake", str(root))
    after, before = ad_features(root), world["before"]["features_ad"]
    assert [r[:-1] for r in after] == [r[:-1] for r in before]
    money = [[x for r in rows for x in r[-1]] for rows in (after, before)]
    assert money[0] == pytest.approx(money[1], rel=1e-12)
    assert naming(root, "features_user", user) == 0


def test_a_killed_runs_leftovers_are_removed_and_a_rerun_changes_nothing(world):
    env, root = world["env"], world["root"]
    # What a run killed mid-way leaves: a copy moved in before the log named it, scratch files.
    listed = next(root.glob("events/event_date=*/event_hour=*/*.parquet"))
    shutil.copy(listed, listed.with_name("part-erased-killed.c000.snappy.parquet"))
    (root / ".erase-tmp" / "x").mkdir(parents=True)
    summary = lake_erase(env, root)
    assert summary["stray_files_removed"] == 1, summary
    assert summary["found"] == summary["rewritten"] == 0, summary
    assert not (root / ".erase-tmp").exists()
    rows = digest(root, "events", columns="* EXCLUDE (ingested_at)")
    assert rows[0] == world["before"]["events"][0]


def test_a_replay_of_the_topic_through_the_lake_job_writes_the_erased_lake(world, tmp_path):
    env, root, user = world["env"], world["root"], world["user"]
    lake_job(env, world["topic"], tmp_path)  # the user is on the suppression list
    assert naming(tmp_path, "events", user) == 0
    assert naming(tmp_path, "rejected", user) == 0
    erased = digest(root, "events", columns="* EXCLUDE (ingested_at)")
    assert digest(tmp_path, "events", columns="* EXCLUDE (ingested_at)") == erased
    assert erased != world["before"]["events"]


def test_the_rewrite_waits_for_the_lake_job_and_says_so(world):
    with open(world["root"] / ".adsx-lake.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the lake job holds it while it runs
        r = subprocess.run(
            [sys.executable, "-m", "adsx_jobs.lake_erase", "--lake", str(world["root"]),
             "--wait-s", "1"],
            cwd=SOURCE_DIR, env=world["env"], capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert r.returncode == 1
    assert "stayed locked" in r.stderr and "is the lake job running?" in r.stderr, r.stderr


def test_retention_takes_old_event_partitions_out_of_the_sink_log(world):
    env, root = world["env"], world["root"]
    first = duckdb.execute(f"SELECT min(event_date) FROM {source(root, 'events')}").fetchone()[0]
    before = str(first + datetime.timedelta(days=1))
    rest = digest(root, "events", f"event_date > '{first}'", "* EXCLUDE (ingested_at)")
    partition = root / "events" / f"event_date={first}"

    def retention(*flags: str) -> str:
        return run_job(env, "adsx_jobs.lake_erase", "--lake", str(root),
                       "--events-before", before, *flags).stdout  # fmt: skip

    assert f"{partition}  event_date before {before}  past policy" in retention()
    assert partition.exists()  # a dry run
    assert f"{partition}  event_date before {before}  removed" in retention("--apply")
    assert not partition.exists()
    assert digest(root, "events", columns="* EXCLUDE (ingested_at)") == rest
    # Spark reads events/ through the sink's log: a listed file gone would fail this scan.
    assert lake_erase(env, root, "--verify")["left"] == 0
