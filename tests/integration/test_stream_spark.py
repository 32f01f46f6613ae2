"""The C++ stream engine and its Spark Structured Streaming peer (python/adsx_jobs/stream_ctr.py)
agree: after both processed the same generated topic, every closed 5-minute window of every ad
has the same impressions and clicks in `adsx stream`'s minute tiles (as `adsx features` reads
them) and in the Spark job's output."""

import os
import uuid

import pytest
import redis
from conftest import delete_topic, run_adsx, run_job

EVENTS = int(os.environ.get("ADSX_IT_SPARK_EVENTS", "60000"))
LATENESS_MS = 300_000
MINUTE = 60_000
R = redis.Redis(host="127.0.0.1", port=int(os.environ.get("ADSX_REDIS__PORT", "6379")))


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:8]
    n = {"topic": f"it.spark.{suffix}", "dlq": f"it.spark.dlq.{suffix}", "prefix": f"sx:{suffix}:"}
    yield n
    delete_topic(n["topic"])
    delete_topic(n["dlq"])
    for k in R.scan_iter(match=n["prefix"] + "*", count=10_000):
        R.delete(k)


def cpp_minute_tiles(ad: int) -> dict[int, tuple[int, int]]:
    """tile id -> (impressions, clicks) of the ad's own ring (fields m0..m59)."""
    out = {}
    for field, value in R.hgetall(f"a:{ad}").items():
        f = field.decode()
        if f.startswith("m"):
            tile, imp, clk, _ = map(int, value.decode().split(":"))
            out[tile] = (imp, clk)
    return out


def test_closed_five_minute_windows_agree_with_spark(names, tmp_path):
    env = dict(
        os.environ,
        ADSX_KAFKA__EVENTS_TOPIC=names["topic"],
        ADSX_KAFKA__DLQ_TOPIC=names["dlq"],
        ADSX_STREAM__GROUP=f"it-spark-{names['prefix'][3:-1]}",
    )
    R.flushdb()
    gen = run_adsx("generate", "--events", str(EVENTS), "--days", "1", "--seed", "21", env=env)
    assert gen.returncode == 0, gen.stderr[-2000:]
    stream = run_adsx("stream", "--until-idle", "5", env=env, timeout=600)
    assert stream.returncode == 0, stream.stdout + stream.stderr[-3000:]
    assert f"{EVENTS} applied, 0 dead-lettered" in stream.stdout, stream.stdout

    spark = run_job(
        env, "adsx_jobs.stream_ctr", "--topic", names["topic"], "--available-now",
        "--key-prefix", names["prefix"], "--checkpoint", str(tmp_path / "checkpoint"),
    )  # fmt: skip
    assert f'"rows": {EVENTS},' in spark.stdout, spark.stdout[-2000:]

    spark_windows = {}  # (ad, window end ms) -> (impressions, clicks)
    for key in R.scan_iter(match=names["prefix"] + "*", count=10_000):
        ad = int(key.decode()[len(names["prefix"]) :])
        for end, value in R.hgetall(key).items():
            imp, clk, _ = value.decode().split(":")
            spark_windows[(ad, int(end))] = (int(imp), int(clk))
    newest = max(int(R.hget(k, "asof")) for k in R.scan_iter(match="a:*", count=10_000))
    watermark = newest - LATENESS_MS  # Spark's, once it has seen every event

    compared = 0
    ads = {ad for ad, _ in spark_windows} | {
        int(k.decode()[2:]) for k in R.scan_iter(match="a:*", count=10_000)
    }
    mismatches = []
    for ad in sorted(ads):
        tiles = cpp_minute_tiles(ad)
        if not tiles:
            continue
        # Windows whose five tiles the ring still holds (within an hour of the ad's newest) and
        # that Spark has closed; either side's empty window counts as (0, 0).
        first_end = (max(tiles) - 59 + 5) * MINUTE
        for end in range(first_end, watermark // MINUTE * MINUTE + 1, MINUTE):
            t_end = end // MINUTE
            cpp = tuple(
                sum(tiles.get(t, (0, 0))[i] for t in range(t_end - 5, t_end)) for i in (0, 1)
            )
            theirs = spark_windows.get((ad, end), (0, 0))
            if cpp != (0, 0) or theirs != (0, 0):
                compared += 1
                if cpp != theirs:
                    mismatches.append((ad, end, cpp, theirs))
    assert not mismatches, f"{len(mismatches)} of {compared} windows differ, e.g. {mismatches[:3]}"
    assert compared >= 1000, f"only {compared} non-empty closed windows compared"
