"""Ingest benchmark: `adsx generate` vs Kafka's own kafka-producer-perf-test, side by side on the
same broker, alternated (ours, theirs) × RUNS.

Same for both: record size (the perf test replays real generated events from a payload file,
so size and compressibility match), acks=all, idempotence, lz4, linger.ms, batch.size, a
12-partition topic. Different by design: our records are keyed by user (spread over all
partitions, as the stream engine needs), the perf test sends unkeyed records (sticky
partitioner, fuller batches) — the baseline's best case.

Rates are each tool's own produce-phase rate; CPU-µs per event and peak RSS cover the whole
process (our world build and catalog write included; the JVM's start-up included).

  BENCH_EVENTS=2000000 BENCH_RUNS=3 .venv/bin/python bench/ingest.py
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import tempfile

from common import (
    ADSX,
    BOOTSTRAP,
    alternate,
    kafka_java,
    measure,
    median_of,
    produced,
    table,
    topic_cmd,
    write_result,
)

EVENTS = int(os.environ.get("BENCH_EVENTS", "2000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
LINGER_MS, BATCH_BYTES, COMPRESSION = 10, 1 << 20, "lz4"
OURS_TOPIC, PERF_TOPIC, SAMPLE_TOPIC = (
    "bench.ingest.ours",
    "bench.ingest.perf",
    "bench.ingest.sample",
)


def fresh_topic(name: str) -> None:
    topic_cmd("--delete", "--if-exists", "--topic", name)
    # The settings adsx generate checks an existing topic against (config/adsx.toml).
    topic_cmd(
        "--create",
        "--if-not-exists",
        "--topic",
        name,
        "--partitions",
        "12",
        "--replication-factor",
        "1",
        "--config",
        "retention.ms=604800000",
    )


def adsx_env(topic: str) -> dict[str, str]:
    return dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic)


def payload_file() -> tuple[str, float]:
    """20k real generated events, one per line, for the perf test's --payload-file."""
    fresh_topic(SAMPLE_TOPIC)
    subprocess.run(
        [ADSX, "generate", "--events", "20000", "--seed", "99"],
        check=True,
        capture_output=True,
        env=adsx_env(SAMPLE_TOPIC),
    )
    out = subprocess.run(
        ["kcat", "-C", "-b", BOOTSTRAP, "-t", SAMPLE_TOPIC, "-e", "-q", "-f", "%s\n"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    lines = out.splitlines()
    with tempfile.NamedTemporaryFile("w", suffix=".payloads", delete=False) as f:
        f.write("\n".join(lines) + "\n")
    return f.name, statistics.mean(len(x.encode()) for x in lines)


def ours(run: int) -> dict:
    fresh_topic(OURS_TOPIC)
    m = measure(
        [
            ADSX,
            "generate",
            "--events",
            str(EVENTS),
            "--seed",
            str(run + 1),
            "-X",
            f"linger.ms={LINGER_MS}",
            "-X",
            f"batch.size={BATCH_BYTES}",
        ],
        env=adsx_env(OURS_TOPIC),
    )
    rate = float(re.search(r"^(\d+) events/s", m.stdout, re.M).group(1))
    sent = produced(m.stdout)  # fewer than EVENTS by erased users' records (suppression list)
    assert sent > 0.99 * EVENTS, m.stdout
    return {
        "events_per_s": rate,
        "cpu_us_per_event": m.cpu_s / sent * 1e6,
        "peak_rss_mb": m.peak_rss_mb,
        "wall_s": m.wall_s,
    }


def theirs(payloads: str) -> dict:
    fresh_topic(PERF_TOPIC)
    m = measure(
        kafka_java(
            "org.apache.kafka.tools.ProducerPerformance",
            "--topic",
            PERF_TOPIC,
            "--num-records",
            str(EVENTS),
            "--payload-file",
            payloads,
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={BOOTSTRAP}",
            "acks=all",
            "enable.idempotence=true",
            f"compression.type={COMPRESSION}",
            f"linger.ms={LINGER_MS}",
            f"batch.size={BATCH_BYTES}",
        )
    )
    final = m.stdout.strip().splitlines()[-1]
    rate = float(re.search(r"([\d.]+) records/sec", final).group(1))
    return {
        "events_per_s": rate,
        "cpu_us_per_event": m.cpu_s / EVENTS * 1e6,
        "peak_rss_mb": m.peak_rss_mb,
        "wall_s": m.wall_s,
    }


def main() -> None:
    payloads, mean_size = payload_file()
    runs = alternate(
        RUNS, ours, lambda _: theirs(payloads), "kafka_producer_perf_test", "events_per_s"
    )
    for t in (OURS_TOPIC, PERF_TOPIC, SAMPLE_TOPIC):
        topic_cmd("--delete", "--if-exists", "--topic", t)
    os.unlink(payloads)

    def med(side: str, key: str) -> float:
        return median_of(runs, side, key)

    rows = [
        [
            side,
            f"{med(side, 'events_per_s'):,.0f}",
            f"{med(side, 'cpu_us_per_event'):.2f}",
            f"{med(side, 'peak_rss_mb'):.0f}",
        ]
        for side in ("ours", "kafka_producer_perf_test")
    ]
    ratio = statistics.median(r["ratio"] for r in runs)
    print(
        f"\ningest: {EVENTS:,} events of {mean_size:.0f} B mean, acks=all, idempotent, "
        f"{COMPRESSION}, linger.ms={LINGER_MS}, batch.size={BATCH_BYTES}, 12 partitions; "
        f"median of {RUNS} alternated runs"
    )
    print(table(["producer", "events/s", "CPU µs/event", "peak RSS MB"], rows))
    print(f"ratio ours / kafka-producer-perf-test: {ratio:.2f} (goal >= 1.0)")
    path = write_result(
        "ingest",
        {
            "events": EVENTS,
            "record_bytes_mean": mean_size,
            "runs": runs,
            "median_ratio": ratio,
            "goal_ratio": 1.0,
            "settings": {
                "acks": "all",
                "idempotence": True,
                "compression": COMPRESSION,
                "linger_ms": LINGER_MS,
                "batch_bytes": BATCH_BYTES,
                "partitions": 12,
            },
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
