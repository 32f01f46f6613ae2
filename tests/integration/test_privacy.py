"""`adsx privacy erase|verify` on the real stack (issue #23, the Redis and PostgreSQL slice):
after a generated run streamed into Redis and rows of the user in every PostgreSQL table with a
user id, `verify` names each key and table holding the user; `erase` by raw id removes them,
leaves every other user's data as it was (checksums), records the request in the ledger and
verifies, having scanned every table with a user id; a replay of the topic from its start, and
an event of the user arriving while a stream worker runs, do not bring the user back (the
suppression list); an erasure SIGKILLed half-way is resumed by the next into one request."""

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
import redis
from conftest import (
    ADSX_BIN,
    BOOTSTRAP,
    SOURCE_DIR,
    delete_topic,
    generated_and_streamed,
    personalised,
    psql,
    run_adsx,
    topic_record_count,
)

EVENTS = 6000
USERS = 200_000  # adsx generate's default world


def pseudonym(raw: str) -> str:
    """The oracle of privacy/pseudonym.h: k1 + the first 128 bits of HMAC-SHA256, in hex."""
    path = os.environ.get("ADSX_PRIVACY__HMAC_KEY_FILE", str(SOURCE_DIR / "var/secrets/hmac.key"))
    key = bytes.fromhex(Path(path).read_text().strip())
    return "k1:" + hmac.new(key, raw.encode(), hashlib.sha256).hexdigest()[:32]


def store():
    return redis.Redis(port=int(os.environ.get("ADSX_REDIS__PORT", "6379")))


def others_checksum(r: redis.Redis, erased: str) -> str:
    """Every user hash but the erased user's, and both user tables' other rows, hashed."""
    h = hashlib.sha256()
    for key in sorted(
        k for k in r.scan_iter(match="u:*", count=10_000) if erased not in k.decode()
    ):
        h.update(key)
        h.update(json.dumps(sorted((k.hex(), v.hex()) for k, v in r.hgetall(key).items())).encode())
    for table in ("features_user", "experiment_user_days"):
        rows = psql(f"SELECT md5(string_agg(t::text, ',' ORDER BY t::text)), count(*) FROM {table} t"
                    f" WHERE user_id <> '{erased}'")  # fmt: skip
        h.update(repr(rows).encode())
    return h.hexdigest()


def rows_of(user: str) -> dict[str, int]:
    return {
        t: int(psql(f"SELECT count(*) FROM {t} WHERE user_id = '{user}'")[0][0])
        for t in ("features_user", "experiment_user_days")
    }


def add_rows(user: str, day: str) -> None:
    psql(
        "INSERT INTO features_user (date, user_id, as_of_ms, impressions_7d, clicks_7d,"
        " conversions_7d, ctr_7d, revenue_7d, lifetime_value, impressions_by_hour, clicks_by_hour)"
        f" VALUES ('{day}', '{user}', 0, 1, 0, 0, 0.01, 0, 0, '{{}}', '{{}}')"
        " ON CONFLICT DO NOTHING"
    )
    psql(
        "INSERT INTO experiment_user_days (experiment, arm, user_id, day, device, geo)"
        f" VALUES ('it-privacy', 'a', '{user}', '{day}', 'ios', 'US-CA') ON CONFLICT DO NOTHING"
    )


@pytest.fixture(scope="module")
def world():
    env, events, topics = generated_and_streamed("it.privacy", EVENTS, 31)
    by_id = {pseudonym(f"u{i}"): f"u{i}" for i in range(USERS)}
    busiest = Counter(
        e["user_id"]
        for e in events
        if e["event_type"] == "impression" and personalised(e["consent"])
    )
    user = busiest.most_common(1)[0][0]
    other = busiest.most_common(2)[1][0]
    assert user in by_id, "the test's HMAC oracle disagrees with the generator's pseudonyms"
    for u in (user, other):
        add_rows(u, "2026-01-01")  # besides any rows earlier runs on this stack left
    yield env, events, user, by_id[user], other, rows_of(user)
    for t in topics:
        delete_topic(t)
    psql("DELETE FROM features_user WHERE date = '2026-01-01'")
    psql("DELETE FROM experiment_user_days WHERE experiment = 'it-privacy'")
    psql(f"DELETE FROM privacy_suppressed WHERE user_id IN ('{user}', '{other}')")
    psql(f"DELETE FROM privacy_requests WHERE user_id IN ('{user}', '{other}')")


def test_verify_names_every_store_and_key_holding_the_user(world):
    env, _, user, raw, _, rows = world
    v = run_adsx("privacy", "verify", "--user", raw, env=env)
    assert v.returncode == 1, v.stdout + v.stderr
    assert f"redis     key u:{user}" in v.stdout
    for table, n in rows.items():
        assert f"postgres  table {table}: {n} row(s)" in v.stdout, v.stdout
    assert user in v.stderr


def test_erase_removes_the_user_and_nothing_else_and_a_replay_does_not_bring_them_back(world):
    env, _, user, raw, other, rows = world
    r = store()
    before = others_checksum(r, user)
    started = time.monotonic()
    e = run_adsx("privacy", "erase", "--user", raw, env=env, timeout=120)
    assert e.returncode == 0, e.stdout + e.stderr
    assert time.monotonic() - started >= 6  # waited for workers to reload the suppression list
    assert f"erasing {user} (request" in e.stdout and "no trace of" in e.stdout, e.stdout
    assert not r.exists(f"u:{user}")
    assert psql(f"SELECT count(*) FROM features_user WHERE user_id = '{user}'") == [["0"]]
    assert others_checksum(r, user) == before
    assert r.exists(f"u:{other}")

    # The ledger: one request, each store's outcome, completed and verified.
    ledger = psql(
        "SELECT source, stores, completed_at IS NOT NULL, verified_at IS NOT NULL"
        f" FROM privacy_requests WHERE user_id = '{user}'"
    )
    assert len(ledger) == 1, ledger
    source, stores, completed, verified = ledger[0]
    assert (source, completed, verified) == ("cli", "t", "t")
    stores = json.loads(stores)
    assert stores["redis"]["keys"] == 1
    assert stores["second_sweep"] == {"redis": 0, "postgres": 0}  # no worker ran meanwhile
    assert stores["postgres"] == rows
    # Kafka's horizon: the end of every partition of the raw topics, taken after the wait.
    horizon = stores["kafka"]["horizon"][env["ADSX_KAFKA__EVENTS_TOPIC"]]
    assert sum(horizon.values()) == topic_record_count(env["ADSX_KAFKA__EVENTS_TOPIC"])

    # A replay of the topic from its start by a new consumer group: the user stays erased.
    replay_env = dict(env, ADSX_STREAM__GROUP=f"it-privacy-replay-{uuid.uuid4().hex[:6]}")
    s = run_adsx("stream", "--until-idle", "3", env=replay_env, timeout=600)
    assert s.returncode == 0, s.stderr[-2000:]
    assert not r.exists(f"u:{user}")
    assert r.exists(f"u:{other}")
    v = run_adsx("privacy", "verify", "--user", user, env=env)
    # Nothing in Redis or PostgreSQL; the lake's rewrite and Kafka's retention still to come
    # (tests/integration/test_privacy_lake.py and test_privacy_kafka.py see them through).
    assert v.returncode == 3, v.stdout + v.stderr
    assert "no trace of" in v.stdout and "lake      not rewritten yet" in v.stdout, v.stdout
    assert f"kafka     {env['ADSX_KAFKA__EVENTS_TOPIC']}: " in v.stdout, v.stdout
    # It scanned every table with a user id that the migrations made (but the privacy ledger's).
    scanned = re.search(r"postgres \(([^)]*)\)", v.stdout).group(1).split(", ")
    with_user_id = psql(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
        " AND column_name = 'user_id' AND table_name NOT LIKE 'privacy\\_%'"
    )
    assert sorted(scanned) == sorted(t for (t,) in with_user_id)


def test_an_event_of_the_user_reaching_a_running_worker_after_erasure_is_not_personalised(world):
    env, events, user, raw, *_ = world
    r = store()
    worker = subprocess.Popen(
        [ADSX_BIN, "stream"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        # Erased again (idempotent: a new request, as the last one was verified).
        e = run_adsx("privacy", "erase", "--user", raw, env=env, timeout=120)
        assert e.returncode == 0, e.stdout + e.stderr
        mine = next(x for x in events if x["user_id"] == user and x["event_type"] == "impression")
        late = dict(mine, event_id=str(uuid.uuid4()), request_id=str(uuid.uuid4()),
                    event_time=int(time.time() * 1000))  # fmt: skip
        topic = env["ADSX_KAFKA__EVENTS_TOPIC"]
        subprocess.run(
            ["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-K", "\t"],
            input=f"{user}\t{json.dumps(late)}\n", text=True, check=True, timeout=60,
        )  # fmt: skip
        # Applied once the group's offsets in Redis reach the topic's end.
        group = env["ADSX_STREAM__GROUP"]
        end = topic_record_count(topic)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            applied = sum(
                int(r.hget(k, "next") or 0)
                for k in r.scan_iter(match=f"off:{group}:{topic}:*", count=1000)
            )
            if applied >= end:
                break
            time.sleep(0.5)
        assert applied >= end, (applied, end)
        assert not r.exists(f"u:{user}")
        assert worker.poll() is None, worker.stderr.read()[-2000:]
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    requests = psql(
        f"SELECT count(*), count(verified_at) FROM privacy_requests WHERE user_id = '{user}'"
    )
    assert requests == [["2", "2"]]


def test_an_erasure_killed_half_way_is_resumed_by_the_next_and_completes_once(world):
    env, _, _, _, other, _ = world
    erase = subprocess.Popen(
        [ADSX_BIN, "privacy", "erase", "--user", other],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in erase.stdout:  # killed in its wait for the workers, Redis and PostgreSQL erased
        if line.startswith("waiting"):
            break
    erase.send_signal(signal.SIGKILL)
    erase.wait(timeout=30)
    open_rows = psql(
        "SELECT completed_at IS NULL, verified_at IS NULL FROM privacy_requests"
        f" WHERE user_id = '{other}'"
    )
    assert open_rows == [["t", "t"]]
    again = run_adsx("privacy", "erase", "--user", other, env=env, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resumed" in again.stdout.splitlines()[0], again.stdout
    done = psql(
        "SELECT count(*), count(completed_at), count(verified_at) FROM privacy_requests"
        f" WHERE user_id = '{other}'"
    )
    assert done == [["1", "1", "1"]]
    assert not store().exists(f"u:{other}")


def test_bad_arguments_exit_2_and_an_unreachable_store_fails_clearly(world):
    env, *_ = world
    assert run_adsx("privacy", "erase", env=env).returncode == 2
    assert run_adsx("privacy", "verify", "--user", "", env=env).returncode == 2
    down = run_adsx("privacy", "verify", "--user", "u1", env=dict(env, ADSX_REDIS__PORT="1"))
    assert down.returncode == 1 and "adsx:" in down.stderr, down.stderr


def test_retention_apply_removes_exactly_what_the_dry_run_listed(tmp_path):
    """Personal data past [privacy] retention_days (90) as of 2020-04-01, i.e. dated before
    2020-01-02, in a lake of the test's own and in PostgreSQL; newer data stays."""
    lake, user = tmp_path / "lake", "k1:" + "e" * 32
    old_dirs = [
        lake / "features/user/date=2020-01-01",
        lake / "rejected/batch=1",
        lake / "training/old",
    ]
    kept_dirs = [
        lake / "events/event_date=2020-01-01",  # listed, but under the file sink's log
        lake / "events/event_date=2020-03-01",
        lake / "features/user/date=2020-01-02",
        lake / "rejected/batch=2",
        lake / "training/new",
        lake / "training/not-ours",
    ]  # fmt: skip
    for d in old_dirs + kept_dirs:
        d.mkdir(parents=True)
        (d / "part-0.parquet").write_bytes(b"PAR1")
    for name, dates in (
        ("old", ["2019-12-30", "2020-01-01"]),
        ("new", ["2020-01-01", "2020-01-02"]),
    ):
        (lake / "training" / name / "manifest.json").write_text(
            json.dumps({"impression_dates": dates})
        )
    old = time.mktime((2019, 12, 1, 0, 0, 0, 0, 0, 0))
    os.utime(lake / "rejected/batch=1", (old, old))
    for day in ("2020-01-01", "2020-03-01"):
        add_rows(user, day)
    env = dict(os.environ, ADSX_LAKE__DIR=str(lake))
    try:

        def retention(*flags: str) -> tuple[set[str], list[str]]:
            r = run_adsx("privacy", "retention", "--as-of", "2020-04-01", *flags, env=env)
            assert r.returncode == 0, r.stdout + r.stderr
            lines = r.stdout.splitlines()
            assert lines[0].startswith(
                "retention as of 2020-04-01: personal data dated before 2020-01-02"
            )
            listed = {ln.split()[1] for ln in lines if ln.startswith("lake ") and "kept" not in ln}
            return listed, lines

        listed, lines = retention("--dry-run")
        assert listed == {str(d) for d in old_dirs}, lines
        assert "postgres  features_user: 1 row(s) past policy" in lines
        assert "postgres  experiment_user_days: 1 row(s) past policy" in lines
        assert any(
            str(kept_dirs[0]) in ln and "kept" in ln and "--events-before 2020-01-02 --apply" in ln
            for ln in lines
        ), lines
        assert lines[-1] == "dry run: 5 item(s) past policy; --apply removes them"

        removed, lines = retention("--apply")
        assert removed == listed, lines
        assert lines[-1] == "5 item(s) past policy removed"
        assert not any(d.exists() for d in old_dirs)
        assert all(d.exists() for d in kept_dirs)
        assert rows_of(user) == {"features_user": 1, "experiment_user_days": 1}  # 2020-03-01's
        assert psql(f"SELECT min(date)::text FROM features_user WHERE user_id = '{user}'") == [
            ["2020-03-01"]
        ]

        again, lines = retention()
        assert again == set() and lines[-1].startswith("dry run: 0 item(s)"), lines
    finally:
        psql(f"DELETE FROM features_user WHERE user_id = '{user}'")
        psql(f"DELETE FROM experiment_user_days WHERE user_id = '{user}'")
