"""Proves that `adsx stream` and the lake job judge every record by one contract
(schemas/ad_event.schema.json): a corpus of generated records with the generator's malformed
kinds plus mutation-fuzzed valid events (event_fuzz.py) is produced to a fresh topic, consumed
by both on the real stack, and each record gets the same verdict from both: valid, or the same
reason. The stream's verdict is its dead-letter topic (records not in it were applied); its
reasons beyond the contract (wrong_key, unknown_ad, orphan_event, late) judge a valid record's
place in the stream, so they count as valid. The lake's verdict is where the record landed:
events/ or rejected/ with its reason (read with DuckDB, by Kafka partition and offset)."""

import json
import os
import re
import subprocess
import time
import uuid
from collections import Counter

import duckdb
import jsonschema
import pytest
from conftest import (
    BOOTSTRAP,
    SOURCE_DIR,
    consume,
    delete_topic,
    drop_lake_checkpoints,
    run_adsx,
    run_job,
    stream_env,
    topic_record_count,
)
from event_fuzz import mutated, seeds_from

GENERATED = int(os.environ.get("ADSX_IT_AGREEMENT_GENERATED", "4000"))
FUZZED = int(os.environ.get("ADSX_IT_AGREEMENT_FUZZED", "10000"))
SCHEMA = json.loads((SOURCE_DIR / "schemas" / "ad_event.schema.json").read_text())


def contract_reasons() -> set[str]:
    """Every reason the contract can give: the parser's, each property's (x-adsx-reason: a
    name or {keyword: name}) and the record rules'."""
    out = {"malformed_json", "missing_field", "wrong_type", "invalid_value"}
    for p in SCHEMA["properties"].values():
        r = p.get("x-adsx-reason", {})
        out |= {r} if isinstance(r, str) else set(r.values())
    return out | {r["reason"] for r in SCHEMA["x-adsx-record-rules"]}


CONTRACT_REASONS = contract_reasons()
# Bytes no record of the corpus holds (the fuzzer's flips insert single bytes): kcat's key
# and message delimiters, so that records may hold newlines and any other byte.
KEY_END, RECORD_END = b"\x1c\x1d\x1c\x1d", b"\x1e\x1f\x1e\x1f\x1e"
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
LETTER = re.compile(rb'^\{"reason":"(\w+)",.*?,"partition":(\d+),"offset":(\d+),')


@pytest.fixture(scope="module")
def names(tmp_path_factory):
    suffix = uuid.uuid4().hex[:8]
    n = {
        "topic": f"it.agree.{suffix}",
        "dlq": f"it.agree.dlq.{suffix}",
        "group": f"it-agree-{suffix}",
        "lake": tmp_path_factory.mktemp("lake"),
    }
    yield n
    delete_topic(n["topic"])
    delete_topic(n["dlq"])
    drop_lake_checkpoints(n["topic"])


def produce(topic: str, records: list[tuple[str, bytes]]) -> None:
    """(key, value) records to the topic with kcat, not our producer."""
    data = b"".join(k.encode() + KEY_END + v + RECORD_END for k, v in records)
    assert KEY_END not in b"".join(v for _, v in records)
    assert RECORD_END not in b"".join(v for _, v in records)
    r = subprocess.run(
        ["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-K", KEY_END.decode(),
         "-D", RECORD_END.decode()],
        input=data, capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr


def corpus(env: dict[str, str], topic: str) -> Counter:
    """The generator's records with its malformed kinds, then FUZZED mutations of its valid
    events keyed by their seed's user (a mutated id is then also a wrong key, which the stream
    checks after the contract). Returns the generator's malformed counts by kind."""
    gen = run_adsx(
        "generate", "--events", str(GENERATED), "--days", "1", "--malformed-rate", "0.3",
        "--seed", "41", env=env, timeout=600,
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-2000:]
    kinds = Counter(
        {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", gen.stdout.split("malformed:")[1])}
    )
    valid = []
    for v in consume(topic, fmt="%s\n"):
        try:
            VALIDATOR.validate(json.loads(v))
        except (json.JSONDecodeError, jsonschema.ValidationError):
            continue
        valid.append(v)
    seeds = seeds_from(valid[:500], int(time.time() * 1000))
    records = [
        (seeds[i % len(seeds)]["user_id"], value)
        for i, value in enumerate(mutated(seeds, FUZZED, seed=28))
    ]
    produce(topic, records)
    return kinds


def stream_verdicts(env: dict[str, str], names) -> dict[tuple[int, int], str]:
    stream = run_adsx("stream", "--until-idle", "5", env=env, timeout=900)
    assert stream.returncode == 0, stream.stdout + stream.stderr[-3000:]
    r = subprocess.run(
        ["kcat", "-C", "-b", BOOTSTRAP, "-t", names["dlq"], "-o", "beginning", "-e", "-q",
         "-D", RECORD_END.decode(), "-f", "%s" + RECORD_END.decode()],
        capture_output=True, timeout=300, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = {}
    for letter in r.stdout.split(RECORD_END)[:-1]:
        m = LETTER.match(letter)
        assert m, letter[:300]
        reason, p, o = m.group(1).decode(), int(m.group(2)), int(m.group(3))
        out[(p, o)] = reason if reason in CONTRACT_REASONS else "valid"
    return out


def lake_verdicts(env: dict[str, str], names) -> tuple[dict[tuple[int, int], str], dict]:
    run_job(
        env, "adsx_jobs.lake", "--topic", names["topic"], "--available-now",
        "--lake", str(names["lake"]),
    )  # fmt: skip
    db = duckdb.connect()
    lake = names["lake"]
    out: dict[tuple[int, int], str] = {}
    rows = db.execute(
        f"SELECT kafka_partition, kafka_offset, 'valid' FROM read_parquet("
        f"'{lake}/events/**/*.parquet', hive_partitioning=true) UNION ALL "
        f"SELECT kafka_partition, kafka_offset, reason FROM read_parquet("
        f"'{lake}/rejected/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    for p, o, verdict in rows:
        assert (p, o) not in out, f"record {p}/{o} twice in the lake"
        out[(p, o)] = verdict
    raw = {
        (p, o): v
        for p, o, v in db.execute(
            f"SELECT kafka_partition, kafka_offset, raw FROM read_parquet("
            f"'{lake}/rejected/**/*.parquet', hive_partitioning=true)"
        ).fetchall()
    }
    return out, raw


def test_stream_and_lake_give_every_record_the_same_verdict(names):
    env = stream_env(names["topic"], names["dlq"], names["group"])
    kinds = corpus(env, names["topic"])
    total = topic_record_count(names["topic"])
    assert total == GENERATED + FUZZED

    dead = stream_verdicts(env, names)
    lake, raw = lake_verdicts(env, names)
    assert len(lake) == total, "every record in the lake, valid or rejected"
    stream = {k: dead.get(k, "valid") for k in lake}

    disagreements = [(k, stream[k], lake[k]) for k in sorted(lake) if stream[k] != lake[k]]
    assert not disagreements, (
        "\n".join(
            f"{p}/{o}: stream {s}, lake {w}: {raw.get((p, o), b'(in events/)')[:200]!r}"
            for (p, o), s, w in disagreements[:20]
        )
        + f"\n({len(disagreements)} disagreements in {total} records)"
    )

    # The corpus exercises every contract reason and leaves enough records valid.
    verdicts = Counter(lake.values())
    assert set(verdicts) == CONTRACT_REASONS | {"valid"}, verdicts
    assert verdicts["valid"] >= total // 10, verdicts
    assert verdicts["malformed_json"] >= kinds["truncated_json"]
    print(dict(verdicts))
