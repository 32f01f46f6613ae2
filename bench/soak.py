"""Soak (issue #24): the closed loop at a fixed rate for SOAK_S seconds (default 1800) with the
stream engine and the service running, on the local stack. `adsx simulate --rps SOAK_RPS`
(default 300) asks `adsx serve` for ads and sends the impressions, clicks and conversions to a
topic of the soak's own, which `adsx stream` applies to Redis as they come. Every 5 s: each
process's resident memory (/proc) and, from the stream's /metrics, its consumer lag and the
state it holds in memory by design: its request logs (8 bytes per request id) and its key
cache (the users and ads it remembers, `adsx_stream_key_cache_bytes`). Goal: after warm-up
(SOAK_WARMUP_S, default 600: ten minutes) no process's memory grows by more than 5 %
(the median of the last minute against the median of the minute after warm-up), and the lag
stays bounded.

The stream's state fills for as long as its windows and its cache's bounds: impressions'
request ids for the click window (1 h) plus lateness, each remembered user's minute tiles in
10-minute blocks over 70 minutes, hour blocks over 36 hours, a field per campaign shown (up to
every campaign), for at most `[stream] user_cache` users. No soak of an hour or two sees all of
that level off, so for the stream the table also gives the growth of its memory beside that
state (RSS minus state): what a leak would show.

A table, bench/results/soak.json and bench/results/soak.svg (memory, state and lag over time)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
import uuid

from common import ADSX, RESULTS, cpu_and_rss, table, topic_cmd, write_result

SOAK_S = float(os.environ.get("SOAK_S", "1800"))
WARMUP_S = float(os.environ.get("SOAK_WARMUP_S", "600"))
RPS = float(os.environ.get("SOAK_RPS", "300"))
EVERY_S = 5.0
GROWTH_GOAL = 5.0  # percent
PROCESSES = ("stream", "serve", "simulate")
# What the table compares after warm-up and in the last minute: each process's RSS, and the
# stream's state and its memory beside that state.
SERIES = {
    **{name: f"{name}_rss_mb" for name in PROCESSES},
    "stream: request log": "request_log_mb",
    "stream: key cache": "key_cache_mb",
    "stream: RSS beside them": "stream_beside_state_mb",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.read().decode()
    except OSError:
        return None


def stream_state(metrics_url: str) -> dict:
    """The stream's consumer lag (all partitions), request log MB and remembered users; None
    each while its /metrics does not answer."""
    text = get(metrics_url) or ""

    def total(pattern: str) -> float | None:
        values = re.findall(rf"^{pattern} (\S+)$", text, re.M)
        return sum(float(v) for v in values) if values else None

    log = total("adsx_stream_request_log_bytes")
    cache = total(r"adsx_stream_key_cache_bytes\{[^}]*\}")
    return {
        "lag": total(r"adsx_stream_consumer_lag\{[^}]*\}"),
        "request_log_mb": None if log is None else round(log / 2**20, 2),
        "key_cache_mb": None if cache is None else round(cache / 2**20, 2),
        "cached_users": total(r'adsx_stream_key_cache_keys\{kind="user"\}'),
    }


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while get(f"{url}/readyz") is None:
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("adsx serve did not get ready in 60 s")
        time.sleep(0.5)


def run() -> list[dict]:
    """The soak itself: its samples, one dict per EVERY_S."""
    suffix = uuid.uuid4().hex[:8]
    topic = f"bench.soak.{suffix}"
    stream_port, serve_port = free_port(), free_port()
    env = dict(
        os.environ,
        ADSX_KAFKA__EVENTS_TOPIC=topic,
        ADSX_KAFKA__DLQ_TOPIC=f"{topic}.dlq",
        ADSX_KAFKA__SERVES_TOPIC=f"{topic}.serves",
        ADSX_STREAM__GROUP=f"soak-{suffix}",
    )
    # The catalog and a day of history (the world simulate draws its users from).
    subprocess.run([ADSX, "generate", "--events", "200000", "--seed", "7"], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    procs: dict[str, subprocess.Popen] = {}
    samples: list[dict] = []
    try:
        procs["stream"] = subprocess.Popen(
            [ADSX, "stream"], env=dict(env, ADSX_METRICS__PORT=str(stream_port)),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs["serve"] = subprocess.Popen(
            [ADSX, "serve"], env=dict(env, ADSX_SERVE__PORT=str(serve_port), ADSX_METRICS__PORT="0"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{serve_port}"
        wait_ready(url, procs["serve"])
        procs["simulate"] = subprocess.Popen(
            [ADSX, "simulate", "--duration", str(SOAK_S), "--rps", str(RPS), "--users", "20000",
             "--url", url, "--drain", "0"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        started = time.monotonic()
        next_at = started
        while procs["simulate"].poll() is None:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += EVERY_S
            sample = {"t_s": round(time.monotonic() - started, 1)}
            for name, p in procs.items():
                sample[f"{name}_rss_mb"] = round(cpu_and_rss(p.pid)[1], 1)
            sample.update(stream_state(f"http://127.0.0.1:{stream_port}/metrics"))
            if sample["request_log_mb"] is not None and sample["key_cache_mb"] is not None:
                sample["stream_beside_state_mb"] = round(
                    sample["stream_rss_mb"] - sample["request_log_mb"] - sample["key_cache_mb"], 1
                )
            samples.append(sample)
            if len(samples) % 12 == 0:
                print(f"soak {sample['t_s']:.0f}/{SOAK_S:.0f} s: "
                      + ", ".join(f"{n} {sample[f'{n}_rss_mb']:.0f} MB" for n in PROCESSES)
                      + f", lag {sample['lag']}, request log {sample['request_log_mb']} MB, "
                      f"key cache {sample['key_cache_mb']} MB ({sample['cached_users']} users)",
                      flush=True)  # fmt: skip
        out, _ = procs["simulate"].communicate()
        print(out.strip() or "adsx simulate printed nothing")
        if procs["simulate"].returncode != 0:
            raise RuntimeError(f"adsx simulate exited {procs['simulate'].returncode}")
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(timeout=60)
        for t in (topic, f"{topic}.dlq", f"{topic}.serves"):
            with contextlib.suppress(subprocess.CalledProcessError):
                topic_cmd("--delete", "--if-exists", "--topic", t)
    return samples


def window_median(samples: list[dict], key: str, start_s: float, end_s: float) -> float:
    values = [s[key] for s in samples if start_s <= s["t_s"] < end_s and s.get(key)]
    return statistics.median(values) if values else float("nan")


def verdicts(samples: list[dict]) -> dict:
    warm = WARMUP_S
    end = samples[-1]["t_s"]
    out = {}
    for name, key in SERIES.items():
        after_warmup = window_median(samples, key, warm, warm + 60)
        last = window_median(samples, key, end - 60, end + 1)
        out[name] = {
            "after_warmup_mb": after_warmup,
            "last_minute_mb": last,
            "growth_pct": round((last / after_warmup - 1) * 100, 2),
        }
    out["cached_users"] = {
        "after_warmup": window_median(samples, "cached_users", warm, warm + 60),
        "last_minute": window_median(samples, "cached_users", end - 60, end + 1),
    }
    lags = [s["lag"] for s in samples if s["t_s"] >= warm and s["lag"] is not None]
    out["lag"] = {"max_after_warmup": max(lags, default=None), "last": samples[-1]["lag"]}
    return out


def svg(samples: list[dict]) -> str:
    """Two panels over time: resident MB per process beside the stream's state (request log,
    key cache) and its RSS minus that state, and the stream's consumer lag; a dotted line where
    warm-up ends."""
    w, h, pad = 720, 220, 48
    colors = {"stream": "#1f77b4", "serve": "#d62728", "simulate": "#2ca02c", "lag": "#555",
              "request log": "#9467bd", "key cache": "#8c564b",
              "stream beside them": "#17becf"}  # fmt: skip
    end = max(s["t_s"] for s in samples) or 1

    def panel(y0: int, series: dict[str, list[tuple[float, float]]], label: str) -> list[str]:
        peak = max((v for pts in series.values() for _, v in pts), default=0)
        top = peak * 1.1 or 1
        parts = [f'<rect x="{pad}" y="{y0}" width="{w - 2 * pad}" height="{h - 2 * pad}" '
                 'fill="none" stroke="#ccc"/>',
                 f'<text x="{pad}" y="{y0 - 6}" font-size="12">{label} (max {peak:,.0f})</text>']  # fmt: skip
        for name, pts in series.items():
            xy = " ".join(
                f"{pad + (t / end) * (w - 2 * pad):.1f},{y0 + (h - 2 * pad) * (1 - v / top):.1f}"
                for t, v in pts
            )
            parts.append(f'<polyline fill="none" stroke="{colors[name]}" points="{xy}"/>')
        x = pad + (min(WARMUP_S, end) / end) * (w - 2 * pad)
        parts.append(f'<line x1="{x:.1f}" y1="{y0}" x2="{x:.1f}" y2="{y0 + h - 2 * pad}" '
                     'stroke="#999" stroke-dasharray="2,3"/>')  # fmt: skip
        return parts

    rss = {n: [(s["t_s"], s[f"{n}_rss_mb"]) for s in samples if s[f"{n}_rss_mb"]]  # 0: gone
           for n in PROCESSES}  # fmt: skip
    for name, key in (("request log", "request_log_mb"), ("key cache", "key_cache_mb"),
                      ("stream beside them", "stream_beside_state_mb")):  # fmt: skip
        rss[name] = [(s["t_s"], s[key]) for s in samples if s.get(key) is not None]
    lags = {"lag": [(s["t_s"], s["lag"]) for s in samples if s["lag"] is not None]}
    legend = " ".join(f'<tspan fill="{colors[n]}">■ {n}</tspan>' for n in rss)
    body = (
        panel(pad, rss, "resident MB")
        + panel(h + pad, lags, "stream consumer lag (records)")
        + [
            f'<text x="{pad}" y="{2 * h + 10}" font-size="12">{legend} · {end:.0f} s, '
            f"{RPS:.0f} requests/s</text>"
        ]  # fmt: skip
    )
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{2 * h + 20}" '
            f'font-family="sans-serif">' + "".join(body) + "</svg>\n")  # fmt: skip


def main() -> None:
    print(f"soak: {SOAK_S:.0f} s of the closed loop at {RPS:.0f} requests/s, warm-up "
          f"{WARMUP_S:.0f} s", flush=True)  # fmt: skip
    samples = run()
    v = verdicts(samples)
    rows = [[n, f"{v[n]['after_warmup_mb']:.1f}", f"{v[n]['last_minute_mb']:.1f}",
             f"{v[n]['growth_pct']:+.1f} %",
             "state" if n.startswith("stream: ") and n != "stream: RSS beside them"
             else "met" if v[n]["growth_pct"] <= GROWTH_GOAL else "MISSED"]
            for n in SERIES]  # fmt: skip
    print(table(["memory", "after warm-up MB", "last minute MB", "growth", "goal ≤5 %"], rows))
    print(f"consumer lag after warm-up: max {v['lag']['max_after_warmup']}, at the end "
          f"{v['lag']['last']}")  # fmt: skip
    users = v["cached_users"]
    print(f"users the stream remembers: {users['after_warmup']:.0f} after warm-up, "
          f"{users['last_minute']:.0f} in the last minute")  # fmt: skip
    chart = RESULTS / "soak.svg"
    RESULTS.mkdir(parents=True, exist_ok=True)
    chart.write_text(svg(samples))
    path = write_result("soak", {"duration_s": SOAK_S, "warmup_s": WARMUP_S, "rps": RPS,
                                 "goal_growth_pct": GROWTH_GOAL, "verdicts": v,
                                 "samples": samples})  # fmt: skip
    print(f"wrote {path} and {chart}")


if __name__ == "__main__":
    main()
