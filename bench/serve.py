"""`adsx serve` under load on loopback (issue #21), with bench/loadgen.cc as the client
(build/release/adsx_loadgen: open loop, latency from each request's scheduled time).

  .venv/bin/python bench/serve.py

1. A world: BENCH_SERVE_EVENTS (200,000) events of a catalog of BENCH_SERVE_ADVERTISERS (120)
   advertisers (1,440 ads) generated into a topic of the benchmark's own and streamed into
   Redis; ctr and cvr models trained by adsx_ml on a synthetic training set over the catalog,
   the ctr arm pointed at its XGBoost version (trees, as the budget states).
2. GET /features/ad/{id} over the streamed ads: the most requests per second at C connections
   against `redis-benchmark -t get` at the same concurrency (alternated runs, medians), and the
   latency at a fixed 5,000 requests/s.
3. POST /rank_ads with 500 candidate ids targeting the request's geo and device, for users with
   consent: latency at fixed 1,000 and 2,000 requests/s; the most it sustains against the
   brief's stack (bench/peers/fastapi_rank.py: FastAPI + redis-py + xgboost, under uvicorn with
   as many worker processes as ours has worker threads, same Redis, catalog, model and
   requests), alternated runs, medians; and both at half the peer's best rate (a rate it
   sustains), where the peer's p99 is compared with ours.
Writes bench/results/serve.json.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

from common import ADSX, REDIS_CLI, ROOT, table, topic_cmd, write_result

EVENTS = int(os.environ.get("BENCH_SERVE_EVENTS", "200000"))
ADVERTISERS = int(os.environ.get("BENCH_SERVE_ADVERTISERS", "120"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = float(os.environ.get("BENCH_SERVE_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_SERVE_CONNECTIONS", "32"))
CANDIDATES = 500
LOADGEN = str(ROOT / "build" / "release" / "adsx_loadgen")
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(sql: str) -> list[list[str]]:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "adsx", "-d", "adstreamx", "-At", "-F", "\t", "-c", sql],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return [line.split("\t") for line in out.splitlines() if line]


def world(env: dict[str, str], work: Path) -> tuple[list[dict], Path]:
    subprocess.run([*REDIS_CLI, "FLUSHDB"], check=True, capture_output=True)
    subprocess.run(
        [ADSX, "generate", "--events", str(EVENTS), "--advertisers", str(ADVERTISERS),
         "--seed", "9"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    subprocess.run([ADSX, "stream", "--until-idle", "3"], env=env, check=True, capture_output=True)
    sample = subprocess.run(
        ["kcat", "-C", "-b", env["ADSX_KAFKA__BOOTSTRAP_SERVERS"], "-t",
         env["ADSX_KAFKA__EVENTS_TOPIC"], "-c", "20000", "-e", "-q", "-f", "%s\n"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    events = [json.loads(line) for line in sample.splitlines() if line]
    sys.path.insert(0, str(ROOT / "python"))
    from adsx_ml import synthetic

    ads = [(int(a), int(c)) for a, c in psql("SELECT ad_id, campaign_id FROM ads")]
    manifest = synthetic.training_set(work / "set", ads)
    registry = work / "registry"
    subprocess.run(
        [PY, "-m", "adsx_ml.train", "--training-set", str(manifest), "--registry", str(registry)],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip
    versions = sorted((registry / "ctr").glob("[0-9]*"))
    trees = next(v for v in versions if (v / "xgboost.json").exists())
    (registry / "ctr" / "current" / "control").write_text(f"{trees.name}\n")
    return events, registry


def rank_requests(events: list[dict], path: Path) -> int:
    """Requests of users with consent in the busiest (geo, device), each naming 500 ads that
    target it (all of them if fewer do)."""
    (device, geo), _ = Counter((e["device"], e["geo"]) for e in events).most_common(1)[0]
    targeted = [
        int(a)
        for (a,) in psql(
            "SELECT a.ad_id FROM ads a JOIN campaigns c USING (campaign_id) "
            f"WHERE '{geo}' = ANY(c.target_geos) AND '{device}' = ANY(c.target_devices) "
            "ORDER BY a.ad_id"
        )
    ][:CANDIDATES]
    users = [e for e in events if e["device"] == device and e["geo"] == geo][:500]
    with open(path, "w") as f:
        for e in users:
            body = {"user_id": e["user_id"], "consent": e["consent"], "slots": 3,
                    "candidate_ids": targeted,
                    "context": {"device": device, "geo": geo, "placement": "feed"}}  # fmt: skip
            f.write(json.dumps({"method": "POST", "path": "/rank_ads",
                                "body": json.dumps(body)}) + "\n")  # fmt: skip
    return len(targeted)


def feature_requests(path: Path) -> int:
    ads = [int(k.split(":")[1]) for k in subprocess.run(
        [*REDIS_CLI, "--scan", "--pattern", "a:*"], capture_output=True, text=True, check=True
    ).stdout.split()]  # fmt: skip
    with open(path, "w") as f:
        for a in ads:
            f.write(json.dumps({"method": "GET", "path": f"/features/ad/{a}"}) + "\n")
    return len(ads)


def load(port: int, requests: Path, rate: float) -> dict:
    out = subprocess.run(
        [LOADGEN, "--port", str(port), "--connections", str(CONNECTIONS), "--rate", str(rate),
         "--duration", str(SECONDS), "--warmup", "1", "--requests", str(requests)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def redis_benchmark() -> float:
    out = subprocess.run(
        ["redis-benchmark", "-h", REDIS_CLI[2], "-p", REDIS_CLI[4], "-c", str(CONNECTIONS),
         "-n", "200000", "-t", "get", "-q"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    # -q still prints progress lines ending in \r before the result: the last one counts.
    return float(out.split("GET:")[-1].split("requests per second")[0].strip())


def start_server(adsx: str, env: dict[str, str], registry: Path, port: int) -> subprocess.Popen:
    """`adsx serve` of the build `adsx` on `port` with the world's registry, once it serves."""
    server = subprocess.Popen(
        [adsx, "serve"],
        env=dict(env, ADSX_SERVE__PORT=str(port), ADSX_MODELS__DIR=str(registry),
                 ADSX_METRICS__PORT="0", ADSX_LOG__LEVEL="warn"),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    if not server.stdout.readline().startswith("serving on"):
        server.kill()
        raise RuntimeError(f"{adsx} serve did not start")
    time.sleep(1)
    return server


def start_peer(env: dict[str, str], registry: Path, port: int) -> subprocess.Popen:
    trees = (registry / "ctr" / "current" / "control").read_text().strip()
    p = subprocess.Popen(
        [PY, "-m", "uvicorn", "--app-dir", str(ROOT / "bench" / "peers"), "fastapi_rank:app",
         "--port", str(port), "--workers", os.environ.get("ADSX_SERVE__WORKERS", "2"),
         "--log-level", "warning"],
        env=dict(env, PEER_MODEL=str(registry / "ctr" / trees),
                 PYTHONPATH=str(ROOT / "python")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the FastAPI peer did not start")


def world_env(topic: str) -> dict[str, str]:
    """This process's environment with the benchmark's own topics and consumer group."""
    return dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic, ADSX_KAFKA__DLQ_TOPIC=topic + ".dlq",
                ADSX_STREAM__GROUP=f"bench-{topic}", ADSX_KAFKA__SERVES_TOPIC=topic + ".serves",
                ADSX_KAFKA__BOOTSTRAP_SERVERS=os.environ.get("ADSX_KAFKA__BOOTSTRAP_SERVERS",
                                                             "127.0.0.1:9092"))  # fmt: skip


def main() -> None:
    if not os.access(LOADGEN, os.X_OK):
        sys.exit(f"{LOADGEN} is not built (make build)")
    topic = f"bench.serve.{uuid.uuid4().hex[:6]}"
    env = world_env(topic)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    port, peer_port = free_port(), free_port()
    server = peer = None
    try:
        events, registry = world(env, work)
        rank_file, feature_file = work / "rank.jsonl", work / "features.jsonl"
        candidates = rank_requests(events, rank_file)
        feature_requests(feature_file)
        server = start_server(ADSX, env, registry, port)
        features_max, redis_get = [], []
        for i in range(RUNS):
            features_max.append(load(port, feature_file, 0))
            redis_get.append(redis_benchmark())
            print(f"run {i + 1}/{RUNS}: /features {features_max[-1]['rate']:,.0f}/s, "
                  f"redis-benchmark GET {redis_get[-1]:,.0f}/s", flush=True)  # fmt: skip
        features_5k = load(port, feature_file, 5000)
        rank = {rate: load(port, rank_file, rate) for rate in (1000, 2000)}
        peer = start_peer(env, registry, peer_port)
        rank_max, peer_max = [], []
        for i in range(RUNS):
            rank_max.append(load(port, rank_file, 0))
            peer_max.append(load(peer_port, rank_file, 0))
            print(f"run {i + 1}/{RUNS}: /rank_ads ours {rank_max[-1]['rate']:,.0f}/s, "
                  f"FastAPI peer {peer_max[-1]['rate']:,.1f}/s ({peer_max[-1]['ok']} 2xx of "
                  f"{peer_max[-1]['sent']} sent, {peer_max[-1]['closed']} connections it closed)",
                  flush=True)  # fmt: skip
        half = max(1.0, statistics.median(r["rate"] for r in peer_max) / 2)
        peer_half, ours_half = load(peer_port, rank_file, half), load(port, rank_file, half)
    finally:
        if server:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        if peer:
            peer.send_signal(signal.SIGTERM)
            peer.wait(timeout=30)
        for t in (topic, topic + ".dlq", topic + ".serves"):
            topic_cmd("--delete", "--if-exists", "--topic", t)
    f_rate = statistics.median(r["rate"] for r in features_max)
    ours_rate = statistics.median(r["rate"] for r in rank_max)
    peer_rate = statistics.median(r["rate"] for r in peer_max)
    r_rate = statistics.median(redis_get)

    def lat(r: dict) -> str:
        q = r["latency_us"]
        return f"p50 {q['p50'] / 1000:.2f} / p99 {q['p99'] / 1000:.2f} / p999 {q['p999'] / 1000:.2f} ms"

    def ok(r: dict) -> str:
        return f"{r['ok']:,}/{r['sent']:,} 2xx"

    rows = [
        ["GET /features/ad/{id}, max", f"{f_rate:,.0f}/s", f"redis-benchmark GET {r_rate:,.0f}/s",
         f"{f_rate / r_rate:.2f}", ">= 0.3"],
        ["GET /features/ad/{id}, 5k/s", lat(features_5k), ok(features_5k), "", "p99 <= 1 ms"],
        *[[f"POST /rank_ads ({candidates} cand.), {rate}/s", lat(r), ok(r), "",
           "p99 <= 5 ms at 1k/s" if rate == 1000 else ""] for rate, r in rank.items()],
        [f"POST /rank_ads ({candidates} cand.), max", f"{ours_rate:,.0f}/s",
         f"FastAPI + redis-py + xgboost {peer_rate:,.1f}/s",
         f"{ours_rate / peer_rate:.1f}" if peer_rate else "no peer reply",
         ">= 20"],
        [f"POST /rank_ads, {half:,.0f}/s (half the peer's best)", lat(ours_half),
         "peer " + lat(peer_half), "", "p99 lower than the peer's"],
    ]  # fmt: skip
    print(f"\nadsx serve on loopback, {CONNECTIONS} connections, {SECONDS:.0f} s per run, "
          f"{RUNS} alternated max-rate runs (medians)")  # fmt: skip
    print(table(["load", "ours", "beside it", "ratio", "goal"], rows))
    path = write_result("serve", {
        "connections": CONNECTIONS, "seconds": SECONDS, "candidates": candidates,
        "features_max": features_max, "redis_benchmark_get": redis_get,
        "features_5k": features_5k, "rank": {str(k): v for k, v in rank.items()},
        "rank_max": rank_max, "peer_max": peer_max, "half_rate": half,
        "ours_half": ours_half, "peer_half": peer_half,
    })  # fmt: skip
    print(f"\nwritten to {path}")


if __name__ == "__main__":
    main()
