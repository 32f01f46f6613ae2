"""Two builds of `adsx serve` side by side on bench/serve.py's world and `/rank_ads` requests
(500 candidates): alternated pairs, each build at a fixed 1,000 requests/s (latency, and the
service's CPU per request) and at its most (requests/s), and their medians.

A change to serving moves its latency tail by less than this shared machine swings between
runs, so only runs paired in time show it; CPU per request (the service's user + system time
over the fixed-rate run) is the steadier of the measures.

  .venv/bin/python bench/serve_ab.py BASELINE_ADSX CANDIDATE_ADSX

BENCH_RUNS (3) pairs of BENCH_SERVE_SECONDS (10) s runs. The world is built with the
candidate; both builds read the same config. Writes bench/results/serve_ab.json.
"""

from __future__ import annotations

import signal
import statistics
import sys
import tempfile
import uuid
from pathlib import Path

import serve
from common import cpu_and_rss, table, topic_cmd, write_result

RATE = 1000


def run(adsx: str, env: dict[str, str], registry: Path, requests: Path) -> dict:
    """One build: started, loaded at RATE then at its most, stopped."""
    port = serve.free_port()
    server = serve.start_server(adsx, env, registry, port)
    try:
        cpu_before = cpu_and_rss(server.pid)[0]
        fixed = serve.load(port, requests, RATE)
        cpu = cpu_and_rss(server.pid)[0] - cpu_before
        most = serve.load(port, requests, 0)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    q = fixed["latency_us"]
    return {"p50_ms": q["p50"] / 1000, "p99_ms": q["p99"] / 1000, "p999_ms": q["p999"] / 1000,
            "ok": fixed["ok"], "sent": fixed["sent"],
            "cpu_us_per_request": cpu / max(fixed["ok"], 1) * 1e6,
            "max_rate": most["rate"]}  # fmt: skip


def main() -> None:
    if len(sys.argv) != 3:
        print("usage: bench/serve_ab.py BASELINE_ADSX CANDIDATE_ADSX", file=sys.stderr)
        sys.exit(2)
    builds = {"baseline": sys.argv[1], "candidate": sys.argv[2]}
    serve.ADSX = builds["candidate"]  # builds the world
    topic = f"bench.serve_ab.{uuid.uuid4().hex[:6]}"
    env = serve.world_env(topic)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-ab-"))
    pairs = []
    try:
        events, registry = serve.world(env, work)
        requests = work / "rank.jsonl"
        candidates = serve.rank_requests(events, requests)
        for i in range(serve.RUNS):
            order = list(builds) if i % 2 == 0 else list(reversed(builds))
            pair = {name: run(builds[name], env, registry, requests) for name in order}
            pairs.append(pair)
            print(f"pair {i + 1}/{serve.RUNS}: " + ", ".join(
                f"{n} p99 {pair[n]['p99_ms']:.2f} ms, {pair[n]['cpu_us_per_request']:.0f} µs CPU"
                f"/request, max {pair[n]['max_rate']:,.0f}/s" for n in builds), flush=True)  # fmt: skip
    finally:
        for t in (topic, topic + ".dlq", topic + ".serves"):
            topic_cmd("--delete", "--if-exists", "--topic", t)
    keys = ("p50_ms", "p99_ms", "p999_ms", "cpu_us_per_request", "max_rate")
    med = {n: {k: statistics.median(p[n][k] for p in pairs) for k in keys} for n in builds}
    rows = [[k] + [f"{med[n][k]:,.2f}" for n in builds]
            + [f"{med['candidate'][k] / med['baseline'][k]:.3f}"] for k in keys]  # fmt: skip
    print(f"\nPOST /rank_ads, {candidates} candidates: {RATE}/s fixed and the most, "
          f"{serve.RUNS} alternated pairs (medians)")  # fmt: skip
    print(table(["measure", "baseline", "candidate", "candidate / baseline"], rows))
    path = write_result("serve_ab", {"builds": builds, "candidates": candidates, "rate": RATE,
                                     "pairs": pairs, "median": med})  # fmt: skip
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
