"""`adsx generate` against the real local stack (make test brings it up). Records are read back
with tools that are not ours (kcat, the broker's GetOffsetShell, psql) and checked against the
JSON Schema in schemas/."""

import json
import os
import re
import uuid

import jsonschema
import pytest
from conftest import SOURCE_DIR, catalog_ad_ids, consume, delete_topic, run_adsx, topic_record_count

SCHEMA = json.loads((SOURCE_DIR / "schemas" / "ad_event.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
# Millions, so that every partition sees many batches; the 10M-event scale is
# `BENCH_EVENTS=10000000 .venv/bin/python bench/ingest.py` (peak RSS in its table), or this test
# with ADSX_IT_EVENTS=10000000.
BIG = int(os.environ.get("ADSX_IT_EVENTS", "4000000"))


def generate(topic: str, *args: str, env_extra: dict[str, str] | None = None):
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic, **(env_extra or {}))
    return run_adsx("generate", *args, env=env, timeout=1800)


@pytest.fixture
def topic():
    name = f"it.events.{uuid.uuid4().hex[:10]}"
    yield name
    delete_topic(name)


def test_big_run_reconciles_exactly_and_every_sampled_record_matches_the_schema(topic):
    r = generate(topic, "--events", str(BIG), "--days", "7")
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    assert f"produced {BIG} / acknowledged {BIG} / failed 0" in r.stdout, r.stdout
    assert topic_record_count(topic) == BIG

    rows = consume(topic, count=20_000)
    assert len(rows) == 20_000
    for row in rows:
        _, _, key, value = row.split("\t", 3)
        event = json.loads(value)
        VALIDATOR.validate(event)
        assert key == event["user_id"]  # message key = pseudonym
        assert re.fullmatch(r"k1:[0-9a-f]{32}", key)
        assert event["ip"].endswith(".0")  # truncated before Kafka


def test_same_seed_gives_byte_identical_topics_and_another_seed_does_not():
    topics = [f"it.events.{uuid.uuid4().hex[:10]}" for _ in range(3)]
    try:
        for t, seed in zip(topics, ["9", "9", "10"], strict=True):
            r = generate(t, "--events", "20000", "--seed", seed, "--start", "2026-11-01")
            assert r.returncode == 0, r.stderr
        a, b, c = (sorted(consume(t)) for t in topics)
        assert len(a) == 20_000
        assert a == b
        assert a != c
    finally:
        for t in topics:
            delete_topic(t)


def test_malformed_records_are_exactly_the_schema_violations_the_summary_counts(topic):
    r = generate(topic, "--events", "30000", "--malformed-rate", "0.05")
    assert r.returncode == 0, r.stderr
    counts = dict(re.findall(r"(\w+)=(\d+)", r.stdout.split("malformed:")[1].splitlines()[0]))
    schema_breaking = [
        "truncated_json",
        "wrong_type",
        "missing_field",
        "unknown_event_type",
        "negative_revenue",
    ]
    invalid = 0
    for row in consume(topic, fmt="%s\n"):
        try:
            VALIDATOR.validate(json.loads(row))
        except (json.JSONDecodeError, jsonschema.ValidationError):
            invalid += 1
    assert invalid == sum(int(counts[k]) for k in schema_breaking)
    assert int(counts["orphan_click"]) > 0 and int(counts["future_timestamp"]) > 0
    assert 0.04 < sum(int(v) for v in counts.values()) / 30000 < 0.06


def test_paced_runs_with_malformed_records_keep_their_pace(topic):
    """A malformed record is a copy of the last valid one, due already: pacing waited for its
    own time, 30 days ahead for a future_timestamp fault, and the run stalled there."""
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic)
    r = run_adsx("generate", "--events", "4000", "--rate", "2000", "--malformed-rate", "0.05",
                 env=env, timeout=60)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "future_timestamp=" in r.stdout and topic_record_count(topic) == 4000


def test_catalog_lands_in_postgres_and_events_reference_it(topic):
    r = generate(topic, "--events", "5000", "--seed", "3")
    assert r.returncode == 0, r.stderr
    ads = catalog_ad_ids()
    assert len(ads) == 480
    used = {json.loads(row)["ad_id"] for row in consume(topic, fmt="%s\n")}
    assert used <= ads


@pytest.mark.parametrize(
    "args",
    [
        ["--events", "0"],
        ["--malformed-rate", "2"],
        ["--days", "0"],
        ["--rate", "-5"],
        ["--bogus"],
        ["--start", "2026-13-45"],
    ],
)
def test_bad_arguments_exit_2_with_a_message(args):
    r = run_adsx("generate", *args)
    assert r.returncode == 2, (args, r.returncode, r.stderr)
    assert r.stderr.strip(), "a message says what is wrong"


def test_unreachable_broker_fails_clearly_and_counts_what_was_not_delivered():
    dead = "127.0.0.1:1"
    r = generate(
        "it.events.dead",
        "--events",
        "1000",
        "--delivery-timeout",
        "3",
        env_extra={"ADSX_KAFKA__BOOTSTRAP_SERVERS": dead},
    )
    assert r.returncode == 1
    assert dead in r.stderr, r.stderr
    assert "0 of 1000 events delivered" in r.stderr, r.stderr
