"""Two builds of `adsx stream` side by side: alternated runs of one worker through the same
backlog topic (bench/stream.py's), each pair's records/s and CPU per record, and their medians.

A change to the stream engine moves the worker by 5-15%, less than this shared machine swings
between runs (consumer-perf-test's own speed ranged 226k-453k/s over four days), so only runs
paired in time show it. CPU per record (the worker's user + system time, librdkafka's threads
included) is steadier than records/s, which also depends on what Redis and the broker get.

  .venv/bin/python bench/stream_ab.py BASELINE_ADSX CANDIDATE_ADSX

BENCH_STREAM_EVENTS (500000) records, BENCH_RUNS (5) pairs; the topic is produced by the
candidate at bench/stream.py's live density (5 s of event time for 500k records), or with
BENCH_AB_DAYS=N over N days of event time, where hot keys hold hundreds of slots as they do
after hours of live traffic: some changes show on one and not the other.
Both builds read the same config (config/adsx.toml, or $ADSX_CONFIG); a build older than a key
in it refuses the key ("unknown key"): give it a wrapper script that sets ADSX_CONFIG to a copy
of the config without that key, placed in config/ so that its relative paths still hold.
Writes bench/results/stream_ab.json.
"""

from __future__ import annotations

import math
import os
import statistics
import sys

from common import table, topic_cmd, write_result
from stream import RUNS, backlog_topic, ours


def main() -> None:
    if len(sys.argv) != 3:
        print("usage: bench/stream_ab.py BASELINE_ADSX CANDIDATE_ADSX", file=sys.stderr)
        sys.exit(2)
    baseline, candidate = sys.argv[1], sys.argv[2]
    days = int(os.environ.get("BENCH_AB_DAYS", "0"))
    topic, records = backlog_topic(candidate, days)
    pairs = []
    try:
        for i in range(RUNS):
            # Alternate which build runs first, so neither always gets the colder or the
            # warmer machine (page cache, Redis memory, a neighbour's load).
            order = ("baseline", "candidate") if i % 2 == 0 else ("candidate", "baseline")
            paths = {"baseline": baseline, "candidate": candidate}
            pair = {side: ours(topic, records, paths[side]) for side in order}
            pairs.append(pair)
            b, c = pair["baseline"], pair["candidate"]
            print(
                f"pair {i + 1}/{RUNS}: baseline {b['records_per_s']:,.0f}/s "
                f"{b['cpu_us_per_record']:.2f} µs, candidate {c['records_per_s']:,.0f}/s "
                f"{c['cpu_us_per_record']:.2f} µs",
                flush=True,
            )
    finally:
        for t in (topic, topic + ".dlq"):
            topic_cmd("--delete", "--if-exists", "--topic", t)

    def med(side: str, key: str) -> float:
        return statistics.median(p[side][key] for p in pairs)

    cpu_ratio = med("candidate", "cpu_us_per_record") / med("baseline", "cpu_us_per_record")
    rate_ratio = med("candidate", "records_per_s") / med("baseline", "records_per_s")
    cheaper = sum(
        p["candidate"]["cpu_us_per_record"] < p["baseline"]["cpu_us_per_record"] for p in pairs
    )
    # Each pair's ratio (the two runs were side by side in time), and the sign test's two-sided
    # p-value of the count of cheaper pairs under "no difference" (each pair a coin toss): what
    # tells a difference from this machine's noise.
    pair_ratio = statistics.median(
        p["candidate"]["cpu_us_per_record"] / p["baseline"]["cpu_us_per_record"] for p in pairs
    )
    tail = min(cheaper, RUNS - cheaper)
    sign_p = min(1.0, 2 * sum(math.comb(RUNS, k) for k in range(tail + 1)) / 2**RUNS)
    span = f"{days} days" if days else "a live stream's density"
    print(f"\nstream A/B: {records:,} records over {span}, one worker, {RUNS} alternated pairs")
    print(
        table(
            ["build", "records/s (median)", "CPU µs/record (median)", "peak RSS MB (median)"],
            [
                [
                    f"{side}: {path}",
                    f"{med(side, 'records_per_s'):,.0f}",
                    f"{med(side, 'cpu_us_per_record'):.2f}",
                    f"{med(side, 'peak_rss_mb'):.0f}",
                ]
                for side, path in (("baseline", baseline), ("candidate", candidate))
            ],
        )
    )
    print(
        f"candidate / baseline: CPU per record {cpu_ratio:.3f} (medians), {pair_ratio:.3f} "
        f"(median of the pairs' ratios), lower in {cheaper} of {RUNS} pairs (sign test "
        f"p = {sign_p:.2f}); records/s {rate_ratio:.3f}"
    )
    path = write_result(
        "stream_ab",
        {
            "events": records,
            "days": days,
            "baseline": baseline,
            "candidate": candidate,
            "pairs": pairs,
            "cpu_ratio": cpu_ratio,
            "rate_ratio": rate_ratio,
            "candidate_cheaper_pairs": cheaper,
            "cpu_pair_ratio_median": pair_ratio,
            "sign_test_p": sign_p,
        },
    )
    print(f"results: {path}")


if __name__ == "__main__":
    main()
