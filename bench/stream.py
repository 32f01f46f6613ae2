"""Stream benchmark: `adsx stream` (one worker) vs Kafka's kafka-consumer-perf-test and vs the
Spark Structured Streaming peer (python/adsx_jobs/stream_ctr.py: the same 5-min ad CTR into
Redis) on the same topic, then feature freshness (event time -> visible in Redis) at steady
paced rates.

The topic is produced paced (--rate, event time = now) so that its event-time density is a live
stream's (BENCH_GEN_RATE events per second of event time), not a week's backlog.

Goals (DESIGN §5): >= 0.5x consumer-perf-test's records/s; >= 10x the Spark job; freshness
p99 <= 250 ms at 50k events/s (also measured at BENCH_LIVE_RATE, default 20k/s).

The local Redis snapshots every [redis] snapshot_s (300 s): a 20 s run may or may not see one.
BENCH_SNAPSHOT_AT_S=10 starts one (BGSAVE) that many seconds into each paced run, to see what
it costs the tail.

  BENCH_STREAM_EVENTS=500000 BENCH_RUNS=3 .venv/bin/python bench/stream.py
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import resource
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid

from common import (
    ADSX,
    BOOTSTRAP,
    REDIS_CLI,
    ROOT,
    alternate,
    cpu_and_rss,
    kafka_java,
    measure,
    median_of,
    produced,
    table,
    topic_cmd,
    write_result,
)

EVENTS = int(os.environ.get("BENCH_STREAM_EVENTS", "500000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
GEN_RATE = int(os.environ.get("BENCH_GEN_RATE", "100000"))
LIVE_RATES = [50_000, int(os.environ.get("BENCH_LIVE_RATE", "20000"))]
LIVE_SECONDS = int(os.environ.get("BENCH_LIVE_SECONDS", "20"))
SNAPSHOT_AT_S = int(os.environ.get("BENCH_SNAPSHOT_AT_S", "0"))
WINDOW_S = 2
METRICS_PORT = 9479


def env(topic: str, group: str) -> dict[str, str]:
    return dict(
        os.environ,
        ADSX_KAFKA__EVENTS_TOPIC=topic,
        ADSX_STREAM__GROUP=group,
        ADSX_KAFKA__DLQ_TOPIC=topic + ".dlq",
        ADSX_METRICS__PORT=str(METRICS_PORT),
    )


def ours(topic: str, records: int, binary: str = ADSX) -> dict:
    """One worker through the whole topic (`records` long) from an empty Redis and a new
    group."""
    subprocess.run([*REDIS_CLI, "FLUSHDB"], check=True, capture_output=True)
    m = measure(
        [binary, "stream", "--until-idle", "2"], env=env(topic, f"bench-{uuid.uuid4().hex[:6]}")
    )
    n, secs, rate = re.search(
        r"processed (\d+) records: .* in ([\d.]+) s \((\d+) records/s\)", m.stdout
    ).groups()
    assert int(n) == records, m.stdout
    return {
        "records_per_s": float(rate),
        "cpu_us_per_record": m.cpu_s / records * 1e6,
        "peak_rss_mb": m.peak_rss_mb,
    }


def theirs(topic: str, records: int) -> dict:
    m = measure(
        kafka_java(
            "org.apache.kafka.tools.ConsumerPerformance",
            "--bootstrap-server",
            BOOTSTRAP,
            "--topic",
            topic,
            "--messages",
            str(records),
            "--timeout",
            "60000",
            "--group",
            f"perf-{uuid.uuid4().hex[:6]}",
        )
    )
    header, row = m.stdout.strip().splitlines()[-2:]
    fields = dict(
        zip(
            [h.strip() for h in header.split(",")], [v.strip() for v in row.split(",")], strict=True
        )
    )
    return {
        "records_per_s": float(fields["nMsg.sec"]),
        "cpu_us_per_record": m.cpu_s / records * 1e6,
        "peak_rss_mb": m.peak_rss_mb,
    }


def spark_peer(topic: str, records: int) -> dict:
    """The Spark job over the same topic, from a fresh checkpoint; its rate is over the time its
    micro-batches ran (JVM start-up excluded), as Spark's own progress reports it."""
    m = measure(
        [
            sys.executable,
            "-m",
            "adsx_jobs.stream_ctr",
            "--topic",
            topic,
            "--available-now",
            "--fresh",
            "--key-prefix",
            "sxbench:",
        ],
        env=dict(os.environ),
        unreaped_descendants=True,
    )
    summary = json.loads(next(x for x in m.stdout.splitlines() if '"summary"' in x))
    assert summary["rows"] == records, summary
    return {
        "records_per_s": summary["records_per_s"],
        "wall_s": summary["wall_s"],
        "cpu_us_per_record": m.cpu_s / records * 1e6,
        "peak_rss_mb": m.peak_rss_mb,
    }


def histogram_buckets(text: str, name: str) -> list[tuple[float, float]]:
    """A Prometheus histogram's cumulative buckets (le, count), from /metrics text."""
    return [
        (float("inf") if le == "+Inf" else float(le), float(v))
        for le, v in re.findall(rf'^{name}_bucket{{le="([^"]+)"}} ([\d.e+]+)', text, re.M)
    ]


def buckets_quantile(buckets: list[tuple[float, float]], q: float) -> float:
    total = buckets[-1][1]
    rank, prev_le, prev_n = q * total, 0.0, 0.0
    for le, n in buckets:
        if n >= rank:
            if le == float("inf"):
                return prev_le
            return prev_le + (le - prev_le) * (rank - prev_n) / max(n - prev_n, 1e-9)
        prev_le, prev_n = le, n
    return prev_le


def histogram_quantile(text: str, name: str, q: float) -> float:
    return buckets_quantile(histogram_buckets(text, name), q)


def redis_info(section: str, field: str) -> int:
    """One integer of Redis's INFO."""
    info = subprocess.run(
        [*REDIS_CLI, "INFO", section], check=True, capture_output=True, text=True
    ).stdout
    return int(re.search(rf"^{field}:(\d+)", info, re.M).group(1))


def redis_forks() -> int:
    """Redis's forks so far: each a snapshot (or an AOF rewrite) dumping the whole dataset in a
    child process, which takes a core away from everything else on the machine for a while."""
    return redis_info("stats", "total_forks")


def broker_pid() -> dict[str, int]:
    """The local broker's process, when `adsx stack up` started it (its pid file); none for a
    broker elsewhere."""
    pid_file = pathlib.Path(os.environ.get("ADSX_STACK__VAR_DIR", ROOT / "var")) / "run/kafka.pid"
    return {"broker": int(pid_file.read_text())} if pid_file.exists() else {}


def children_cpu_s() -> float:
    """CPU seconds of this script's children that have exited and been waited for."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def freshness(topic: str, rate: int) -> dict:
    subprocess.run([*REDIS_CLI, "FLUSHDB"], check=True, capture_output=True)
    e = env(topic, f"live-{uuid.uuid4().hex[:6]}")
    # The topic and catalog first, with live event times (old ones would land in +Inf).
    subprocess.run(
        [ADSX, "generate", "--events", "500", "--rate", "1000"],
        env=e,
        check=True,
        capture_output=True,
    )
    worker = subprocess.Popen(
        [ADSX, "stream"], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(3)
    name = "adsx_stream_freshness_seconds"

    def scrape() -> str:
        return urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORT}/metrics").read().decode()

    # Also p99 per window of WINDOW_S seconds (the histogram's difference between scrapes):
    # whether the tail is spread out or comes in spikes, and how many snapshots (a fork and a
    # full dump by Redis) the run had.
    # And the cores each process used over the run: the worker, Redis and the broker share
    # the machine with the generator, so freshness is as much a question of what is left.
    forks_before = redis_forks()
    pids = {"worker": worker.pid, "redis": redis_info("server", "process_id"), **broker_pid()}
    cpu_before = {k: cpu_and_rss(p)[0] for k, p in pids.items()}
    gen_before, cpu_started = children_cpu_s(), time.monotonic()
    gen = subprocess.Popen(
        [ADSX, "generate", "--events", str(rate * LIVE_SECONDS), "--rate", str(rate)],
        env=e,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    windows, prev, started = [], histogram_buckets(scrape(), name), time.monotonic()
    while gen.poll() is None:
        time.sleep(WINDOW_S)
        due = SNAPSHOT_AT_S and time.monotonic() - started >= SNAPSHOT_AT_S
        if due and redis_forks() == forks_before:  # one snapshot in the run, if none came
            subprocess.run([*REDIS_CLI, "BGSAVE"], check=True, capture_output=True)
        now = histogram_buckets(scrape(), name)
        diff = [(le, n - p) for (le, n), (_, p) in zip(now, prev, strict=True)]
        if gen.poll() is None and diff[-1][1] >= 1000:  # full windows of steady traffic
            windows.append(buckets_quantile(diff, 0.99) * 1000)
        prev = now
    assert gen.returncode == 0, gen.returncode
    took = time.monotonic() - cpu_started
    cores = {k: (cpu_and_rss(p)[0] - cpu_before[k]) / took for k, p in pids.items()}
    cores["generator"] = (children_cpu_s() - gen_before) / took
    time.sleep(2)
    text = scrape()
    forks = redis_forks() - forks_before
    memory_mb = redis_info("memory", "used_memory") / 1e6  # the run's keys (flushed before it)
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=30)
    return {
        "rate": rate,
        "p50_ms": histogram_quantile(text, name, 0.5) * 1000,
        "p99_ms": histogram_quantile(text, name, 0.99) * 1000,
        "window_s": WINDOW_S,
        "window_p99_ms": windows,
        "redis_forks": forks,
        "redis_used_mb": memory_mb,
        "cores": cores,
    }


def backlog_topic(binary: str = ADSX, days: int = 0) -> tuple[str, int]:
    """A new topic of EVENTS records at a live stream's event-time density (GEN_RATE), or with
    `days`, spread over that many days of event time (as a worker that has run for hours sees
    it: hot ads with hundreds of minute x device and geo slots). Returns it and the records it
    holds: fewer than EVENTS when users on the stack's suppression list (erased, as by
    `make demo`) had records, which the generator's edge does not send."""
    topic = f"bench.stream.{uuid.uuid4().hex[:6]}"
    span = ["--days", str(days)] if days else ["--rate", str(GEN_RATE)]
    out = subprocess.run(
        [binary, "generate", "--events", str(EVENTS), "--seed", "5", *span],
        env=env(topic, "unused"),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return topic, produced(out)


def main() -> None:
    topic, records = backlog_topic()
    runs = alternate(
        RUNS,
        lambda _: ours(topic, records),
        lambda _: theirs(topic, records),
        "kafka_consumer_perf_test",
        "records_per_s",
    )
    spark = spark_peer(topic, records)
    subprocess.run([*REDIS_CLI, "FLUSHDB"], check=True, capture_output=True)
    fresh = [freshness(f"{topic}.live{rate}", rate) for rate in LIVE_RATES]
    for t in [topic, topic + ".dlq"] + [
        f"{topic}.live{r}{x}" for r in LIVE_RATES for x in ("", ".dlq")
    ]:
        topic_cmd("--delete", "--if-exists", "--topic", t)

    def med(side: str, key: str) -> float:
        return median_of(runs, side, key)

    ratio = statistics.median(r["ratio"] for r in runs)
    spark_ratio = med("ours", "records_per_s") / spark["records_per_s"]
    print(
        f"\nstream: {records:,} events generated at {GEN_RATE:,}/s of event time, 12 partitions, "
        f"one worker; median of {RUNS} alternated runs (Spark: one run)"
    )
    print(
        table(
            ["consumer", "records/s", "CPU µs/record", "peak RSS MB"],
            [
                [
                    s,
                    f"{med(s, 'records_per_s'):,.0f}",
                    f"{med(s, 'cpu_us_per_record'):.1f}",
                    f"{med(s, 'peak_rss_mb'):.0f}",
                ]
                for s in ("ours", "kafka_consumer_perf_test")
            ]
            + [
                [
                    "spark structured streaming peer (5-min CTR)",
                    f"{spark['records_per_s']:,.0f}",
                    f"{spark['cpu_us_per_record']:.1f}",
                    f"{spark['peak_rss_mb']:.0f}",
                ]
            ],
        )
    )
    print(f"ratio ours / kafka-consumer-perf-test: {ratio:.3f} (goal >= 0.5)")
    print(f"ratio ours / spark peer: {spark_ratio:.2f} (goal >= 10)")
    for f in fresh:
        w = f["window_p99_ms"]
        print(
            f"freshness at {f['rate']:,}/s: p50 {f['p50_ms']:.0f} ms, p99 {f['p99_ms']:.0f} ms "
            "(goal p99 <= 250 ms at 50k/s); "
            f"p99 per {f['window_s']} s window: median {statistics.median(w):.0f} ms, "
            f"worst {max(w):.0f} ms; {f['redis_forks']} Redis snapshot(s) during the run; "
            f"Redis used {f['redis_used_mb']:.0f} MB at the end"
        )
        print(
            "  cores used (of "
            f"{os.cpu_count()}): "
            + ", ".join(f"{k} {v:.2f}" for k, v in f["cores"].items())
            + f"; together {sum(f['cores'].values()):.2f}"
        )
    path = write_result(
        "stream",
        {
            "events": records,
            "generated_rate": GEN_RATE,
            "runs": runs,
            "median_ratio": ratio,
            "goal_ratio": 0.5,
            "spark_peer": spark,
            "spark_ratio": spark_ratio,
            "goal_spark_ratio": 10,
            "freshness": fresh,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
