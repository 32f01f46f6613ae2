"""Helpers shared by the benchmark scripts: run a command and measure it (wall time, CPU, peak
memory through wait4, plus its descendants sampled from /proc: a JVM that pyspark starts is
not a reaped child), print a table, write JSON under bench/results/."""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
import re
import statistics
import subprocess
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ADSX = os.environ.get("ADSX_BIN", str(ROOT / "build" / "release" / "apps" / "adsx" / "adsx"))
KAFKA_JARS = (
    pathlib.Path(os.environ.get("ADSX_CACHE_DIR", pathlib.Path.home() / ".cache" / "adstreamx"))
    / "jvm"
    / "kafka"
)
BOOTSTRAP = os.environ.get("ADSX_KAFKA__BOOTSTRAP_SERVERS", "127.0.0.1:9092")
# The configured Redis (the ADSX_REDIS__* overrides, as adsx reads them), for redis-cli.
REDIS_CLI = [
    "redis-cli",
    "-h",
    os.environ.get("ADSX_REDIS__HOST", "127.0.0.1"),
    "-p",
    os.environ.get("ADSX_REDIS__PORT", "6379"),
]


class Measured:
    def __init__(self, stdout: str, stderr: str, wall_s: float, cpu_s: float, peak_rss_mb: float):
        self.stdout, self.stderr = stdout, stderr
        self.wall_s, self.cpu_s, self.peak_rss_mb = wall_s, cpu_s, peak_rss_mb

    def costs(self) -> dict:
        """What a result records of a run: wall and CPU seconds, peak RSS."""
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "peak_rss_mb": self.peak_rss_mb}


TICKS = os.sysconf("SC_CLK_TCK")
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for d in pathlib.Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cpu_and_rss(pid: int) -> tuple[float, float]:
    """CPU seconds (user + system) and resident MB of a live process; zeros once it is gone."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS, int(fields[21]) * PAGE_MB
    except (OSError, IndexError, ValueError):
        return 0.0, 0.0


def measure(
    args: list[str], env: dict[str, str] | None = None, unreaped_descendants: bool = False
) -> Measured:
    """Runs `args` to completion. CPU and peak RSS: the child's own (os.wait4, which includes
    descendants it reaped), plus, with `unreaped_descendants`, what its descendants used sampled
    every 0.2 s (last CPU sample, peak of summed RSS): for children that start processes they
    never reap, like pyspark's JVM (they would count twice otherwise)."""
    start = time.monotonic()
    p = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env if env is not None else dict(os.environ),
    )
    seen_cpu: dict[int, float] = {}
    peak_desc_rss = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            rss = 0.0
            for d in descendants(p.pid):
                cpu, r = cpu_and_rss(d)
                if cpu:
                    seen_cpu[d] = cpu
                rss += r
            peak_desc_rss[0] = max(peak_desc_rss[0], rss)

    sampler = threading.Thread(target=sample, daemon=True)
    if unreaped_descendants:
        sampler.start()
    # Read everything, then reap with wait4 for the child's rusage.
    out, err = p.stdout.read(), p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    done.set()
    if unreaped_descendants:
        sampler.join()
    p.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    if p.returncode != 0:
        raise RuntimeError(f"{args[0]} exited {p.returncode}: {err[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime + sum(seen_cpu.values())
    return Measured(out, err, wall, cpu, usage.ru_maxrss / 1024 + peak_desc_rss[0])


def kafka_java(main_class: str, *args: str) -> list[str]:
    return [
        "java",
        f"-Dlog4j.configuration=file:{ROOT / 'deploy/kafka/tools-log4j.properties'}",
        "-cp",
        f"{KAFKA_JARS}/*",
        main_class,
        *args,
    ]


def topic_cmd(*args: str) -> None:
    """Kafka's own TopicCommand against the configured broker."""
    subprocess.run(
        kafka_java("org.apache.kafka.tools.TopicCommand", "--bootstrap-server", BOOTSTRAP, *args),
        check=True,
        capture_output=True,
    )


def alternate(runs: int, ours, theirs, baseline: str, rate_key: str) -> list[dict]:
    """Runs ours() then theirs() `runs` times (alternated, so drift hits both alike)."""
    out = []
    for i in range(runs):
        o, t = ours(i), theirs(i)
        out.append({"ours": o, baseline: t, "ratio": o[rate_key] / t[rate_key]})
        print(
            f"run {i + 1}/{runs}: ours {o[rate_key]:,.0f}/s, {baseline} {t[rate_key]:,.0f}/s",
            flush=True,
        )
    return out


def median_of(runs: list[dict], side: str, key: str) -> float:
    return statistics.median(r[side][key] for r in runs)


def machine() -> dict:
    return {
        "host": platform.node(),
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def write_result(name: str, payload: dict) -> pathlib.Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(
        json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2) + "\n"
    )
    return path


def produced(generate_stdout: str) -> int:
    """The records `adsx generate` had acknowledged, none failed (its summary line)."""
    acked, failed = re.search(r"acknowledged (\d+) / failed (\d+)", generate_stdout).groups()
    assert failed == "0", generate_stdout
    return int(acked)
