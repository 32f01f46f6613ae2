"""The whole loop on one fresh week of events (issue #26), stage by stage: generate → stream
catch-up → lake archive → daily features for the last day → materialize → a three-day training
set → train both heads → a short closed loop on `adsx serve`. Each stage's wall time, CPU
seconds and peak RSS (with pyspark's JVM and other descendants), and the total.

Everything of its own: a topic, a consumer group, a lake and a model registry under a temporary
folder; the local stack's Kafka, Redis and PostgreSQL (the catalog is the bench world's, as
after `adsx generate`).

  .venv/bin/python bench/loop.py        # BENCH_LOOP_EVENTS=10000000 BENCH_LOOP_CLOSED_S=30
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

from common import ADSX, measure, table, topic_cmd, write_result

EVENTS = int(os.environ.get("BENCH_LOOP_EVENTS", "10000000"))
CLOSED_S = float(os.environ.get("BENCH_LOOP_CLOSED_S", "30"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_loop(env: dict[str, str], port: int):
    """`adsx simulate` against an `adsx serve` started for it; both processes' CPU counted."""
    serve = subprocess.Popen(
        [ADSX, "serve"], env=dict(env, ADSX_SERVE__PORT=str(port)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or serve.poll() is not None:
                raise RuntimeError("adsx serve did not get ready in 60 s")
            time.sleep(0.5)
        sim = measure(
            [ADSX, "simulate", "--duration", str(CLOSED_S), "--url", url, "--users", "20000"],
            env=env,
        )
    finally:
        serve.terminate()
        _, _, usage = os.wait4(serve.pid, 0)
    sim.cpu_s += usage.ru_utime + usage.ru_stime
    sim.peak_rss_mb += usage.ru_maxrss / 1024  # both run at once
    return sim


def main() -> None:
    suffix = uuid.uuid4().hex[:6]
    topic = f"bench.loop.{suffix}"
    work = tempfile.mkdtemp(prefix="adsx-bench-loop-")
    lake, models = f"{work}/lake", f"{work}/models"
    env = dict(
        os.environ,
        ADSX_KAFKA__EVENTS_TOPIC=topic,
        ADSX_KAFKA__DLQ_TOPIC=f"{topic}.dlq",
        ADSX_STREAM__GROUP=f"bench-loop-{suffix}",
        ADSX_MODELS__DIR=models,
        ADSX_LAKE__DIR=lake,
        ADSX_METRICS__PORT="0",
    )
    py = [sys.executable, "-m"]
    yesterday = dt.date.today() - dt.timedelta(days=1)
    first, last = yesterday - dt.timedelta(days=3), yesterday - dt.timedelta(days=1)
    stages = [
        ("generate", [ADSX, "generate", "--events", str(EVENTS), "--days", "7", "--seed", "11"]),
        ("stream catch-up", [ADSX, "stream", "--until-idle", "3"]),
        ("lake archive", [*py, "adsx_jobs.lake", "--available-now", "--fresh", "--topic", topic, "--lake", lake]),
        ("daily features", [*py, "adsx_jobs.daily", "--date", str(yesterday), "--lake", lake]),
        ("materialize", [*py, "adsx_jobs.materialize", "--date", str(yesterday), "--lake", lake]),
        ("training set (3 days)", [*py, "adsx_jobs.training_set", "--from", str(first),
                                   "--to", str(last), "--name", "loop", "--lake", lake]),
        ("train (ctr, cvr)", [*py, "adsx_ml.train",
                              "--training-set", f"{lake}/training/loop/manifest.json"]),
    ]  # fmt: skip
    results = []
    try:
        for name, args in stages:
            print(f"{name} ...", flush=True)
            m = measure(args, env=env, unreaped_descendants=args[0] == sys.executable)
            results.append({"stage": name, **m.costs()})
            print(f"  {m.wall_s:.1f} s", flush=True)
        print("closed loop ...", flush=True)
        m = closed_loop(env, free_port())
        print("\n".join("  " + ln for ln in m.stdout.splitlines()[:3]), flush=True)
        results.append({"stage": f"closed loop ({CLOSED_S:.0f} s)", **m.costs()})
    finally:
        shutil.rmtree(work, ignore_errors=True)
        for t in (topic, f"{topic}.dlq"):
            with contextlib.suppress(subprocess.CalledProcessError):
                topic_cmd("--delete", "--topic", t)
    total = {k: sum(r[k] for r in results) for k in ("wall_s", "cpu_s")}
    rows = [
        [r["stage"], f"{r['wall_s']:.1f}", f"{r['cpu_s']:.1f}", f"{r['peak_rss_mb']:,.0f}"]
        for r in results
    ]
    rows.append(["total", f"{total['wall_s']:.1f}", f"{total['cpu_s']:.1f}", ""])
    print(f"\nthe loop on {EVENTS:,} events (7 days), {os.cpu_count()} cores")
    print(table(["stage", "wall s", "cpu s", "peak RSS MB"], rows))
    path = write_result(
        "loop", {"events": EVENTS, "closed_loop_s": CLOSED_S, "stages": results, "total": total}
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
