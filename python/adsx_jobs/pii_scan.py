"""The PII scan (issue #23): searches everything the local stack holds for personal data that
must never be stored in the clear, and exits 1 naming where it found any.

    .venv/bin/python -m adsx_jobs.pii_scan            # after `make demo`, and in CI after `make test`

What it looks for, in every text it can read:
  - e-mail addresses;
  - full IP addresses: a public IPv4 whose last octet is not 0 (the edge keeps /24), a public
    IPv6 with any of its last 80 bits set (the edge keeps /48); loopback, private and link-local
    service addresses are not personal data;
  - phone numbers in international form (+, 8 to 15 digits);
  - raw user ids: the generator's ids (u<n>) before pseudonymisation.
Where: every file under the stack's log folder, every series label in Prometheus, every record
(key and value) of every Kafka topic, every Redis key and every text value (hash fields and
values, strings; binary values, the packed user tiles, hold only counts and are counted, not
read), every row of every PostgreSQL table, and every row of every Parquet file under the lake
(all columns, nested ones included, through DuckDB).

Patterns are deliberately strict about what surrounds a match (`1.1.10.5.jar` is a version, not
an address) and every candidate address is parsed, so a finding is worth reading: the scan prints
each with where it was found, masked."""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from adsx_jobs import config as config_mod
from adsx_jobs import pg

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# The last octet or group must not be 0 or empty: the edge's truncated addresses do not match.
IPV4 = r"(?<![\w.-])(?:\d{1,3}\.){3}(?!0(?!\d))\d{1,3}(?![\w-]|\.\w)"
IPV6 = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{1,4}(?![\w:])"
PHONE = r"(?<![\w+])\+\d[\d ()-]{6,18}\d(?![\w.])"
RAW_ID = r"(?<![\w:/.-])u\d{1,9}(?![\w.-])"
# Each kind is searched where its anchor (a pattern with a literal first character, which `re`
# finds fast) hits, with its full pattern in a window around the hit: the full patterns start
# with a character class or a lookbehind, which would be tried at every position of every text.
KINDS = {
    "email": (re.compile("@"), re.compile(EMAIL)),
    "ipv4": (re.compile(r"\.\d{1,3}\.\d{1,3}\.\d"), re.compile(IPV4)),
    "ipv6": (re.compile(r":[0-9A-Fa-f]{0,4}:"), re.compile(IPV6)),
    "phone": (re.compile(r"\+\d"), re.compile(PHONE)),
    "raw_id": (re.compile(r"u\d"), re.compile(RAW_ID)),
}
WINDOW = 80  # longer than any match: one that reaches the window's edge is not trusted

# Addresses of no user of ours that third-party binaries print: Debian's build banners (Prometheus
# logs "user=team+pkg-go@tracker.debian.org" at start).
NOT_USERS = ("@tracker.debian.org", "@lists.debian.org", "@debian.org")


def personal(kind: str, text: str) -> bool:
    """Whether a candidate match is personal data (see the module's docstring)."""
    if kind == "email":
        return not text.lower().endswith(NOT_USERS)
    if kind in ("ipv4", "ipv6"):
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return False  # a time (12:34:56), a version, hex that only looks like an address
        if not ip.is_global:
            return False
        if ip.version == 4:
            return int(ip) & 0xFF != 0
        return int(ip) & ((1 << 80) - 1) != 0
    if kind == "phone":
        return 8 <= sum(c.isdigit() for c in text) <= 15
    return True


def findings(text: str) -> Iterator[tuple[str, str]]:
    for kind, (anchor, full) in KINDS.items():
        seen: set[tuple[int, int]] = set()
        for hit in anchor.finditer(text):
            lo, hi = max(0, hit.start() - WINDOW), min(len(text), hit.end() + WINDOW)
            for m in full.finditer(text, lo, hi):
                whole = (m.start() > lo or lo == 0) and (m.end() < hi or hi == len(text))
                if whole and m.span() not in seen and m.start() <= hit.start() < m.end():
                    seen.add(m.span())
                    if personal(kind, m.group()):
                        yield kind, m.group()


def mask(value: str) -> str:
    return value[:3] + "…" if len(value) > 4 else "…"


class Scan:
    def __init__(self, examples: int):
        self.examples = examples
        self.scanned: Counter[str] = Counter()
        self.found: Counter[tuple[str, str]] = Counter()
        self.shown: list[str] = []
        self.notes: list[str] = []

    def text(self, store: str, where: str, text: str) -> None:
        self.scanned[store] += 1
        for kind, value in findings(text):
            self.found[store, kind] += 1
            if len(self.shown) < self.examples:
                self.shown.append(f"{store:<10} {kind:<7} {mask(value)!r} in {where}")

    def report(self, out=sys.stdout) -> int:
        print(f"{'store':<10} {'items scanned':>14}  findings", file=out)
        for store, n in self.scanned.items():
            kinds = ", ".join(f"{k} {c}" for (s, k), c in sorted(self.found.items()) if s == store)
            print(f"{store:<10} {n:>14,}  {kinds or 'none'}", file=out)
        for line in self.notes + self.shown:
            print("  " + line, file=out)
        total = sum(self.found.values())
        print(f"PII scan: {total} finding(s)" if total else "PII scan: clean", file=out)
        return 1 if total else 0


def scan_logs(scan: Scan, log_dir: Path) -> None:
    for f in sorted(p for p in log_dir.rglob("*") if p.is_file()):
        with open(f, errors="replace") as lines:
            for i, line in enumerate(lines, 1):
                scan.text("logs", f"{f}:{i}", line)


def scan_prometheus(scan: Scan, cfg: config_mod.Config) -> None:
    p = cfg["prometheus"]
    query = urllib.parse.urlencode({"match[]": '{__name__=~".+"}', "start": "0"})
    url = f"http://{p['host']}:{p['port']}/api/v1/series?{query}"
    with urllib.request.urlopen(url, timeout=60) as r:
        series = json.load(r)["data"]
    for labels in series:
        scan.text("metrics", labels.get("__name__", "?"), json.dumps(labels))


def kcat(*args: str) -> subprocess.Popen:
    return subprocess.Popen(["kcat", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def scan_kafka(scan: Scan, cfg: config_mod.Config) -> None:
    bootstrap = cfg["kafka"]["bootstrap_servers"]
    meta = subprocess.run(
        ["kcat", "-L", "-J", "-b", bootstrap], capture_output=True, timeout=60, check=True
    )
    topics = sorted(t["topic"] for t in json.loads(meta.stdout)["topics"])
    for topic in (t for t in topics if not t.startswith("__")):
        # Key and value of each record, separated by a byte no JSON holds unescaped.
        proc = kcat(
            "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%k\x1f%s\x1e"
        )
        assert proc.stdout is not None
        for n, record in enumerate(records(proc.stdout)):
            scan.text("kafka", f"{topic} record {n}", record.decode(errors="replace"))
        if proc.wait() != 0:
            raise RuntimeError(f"kcat on {topic}: {proc.stderr.read().decode()[-500:]}")


def records(stream, sep: bytes = b"\x1e") -> Iterator[bytes]:
    rest = b""
    while chunk := stream.read(1 << 20):
        parts = (rest + chunk).split(sep)
        rest = parts.pop()
        yield from parts
    if rest:
        yield rest


def scan_redis(scan: Scan, cfg: config_mod.Config) -> None:
    from adsx_jobs import store

    binary = 0
    batches = (
        (server, keys)
        for server in store.servers(store.client(cfg))
        for keys in chunks(server.scan_iter(count=5000), 1000)
    )
    for r, keys in batches:
        pipe = r.pipeline(transaction=False)
        for k in keys:
            pipe.type(k)
        kinds = pipe.execute()
        pipe = r.pipeline(transaction=False)
        for k, t in zip(keys, kinds, strict=True):
            {b"hash": pipe.hgetall, b"string": pipe.get}.get(t, pipe.exists)(k)
        for k, value in zip(keys, pipe.execute(), strict=True):
            key = k.decode(errors="replace")
            scan.text("redis", "key", key)
            parts = value.items() if isinstance(value, dict) else [(b"", value)]
            for field, v in parts:
                for item in (field, v):
                    if not isinstance(item, bytes) or not item:
                        continue
                    try:
                        scan.text("redis", f"key {key}", item.decode())
                    except UnicodeDecodeError:
                        binary += 1
    if binary:
        scan.notes.append(f"redis: {binary:,} binary values (packed tiles: counts only) not read")


def chunks(it: Iterable, n: int) -> Iterator[list]:
    batch = []
    for x in it:
        batch.append(x)
        if len(batch) == n:
            yield batch
            batch = []
    if batch:
        yield batch


def scan_postgres(scan: Scan, cfg: config_mod.Config) -> None:
    with pg.connect(cfg) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT quote_ident(table_name) FROM information_schema.tables"
            " WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1"
        )
        for (table,) in cur.fetchall():
            with cur.copy(f"COPY {table} TO STDOUT") as copy:
                for n, row in enumerate(copy.rows()):
                    scan.text("postgres", f"{table} row {n}", "\t".join(map(str, row)))


def scan_parquet(scan: Scan, lake: Path) -> None:
    import duckdb

    files = sorted(lake.rglob("*.parquet"))
    scan.scanned["parquet"] += 0  # listed even when the lake is empty
    # One dataset per folder holding Parquet files directly (partition folders share a schema).
    for folder in sorted({f.parent for f in files}):
        con = duckdb.connect()
        rows = con.execute(
            "SELECT CAST(t AS VARCHAR) FROM read_parquet(?, union_by_name = true) t",
            [str(folder / "*.parquet")],
        )
        n = 0
        while batch := rows.fetchmany(10_000):
            for (row,) in batch:
                scan.text("parquet", f"{folder} row {n}", row)
                n += 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m adsx_jobs.pii_scan",
        description="Search the local stack's logs, metrics, Kafka topics, Redis, PostgreSQL and "
        "Parquet lake for e-mails, full IPs, phone numbers and raw user ids; exit 1 if any.",
    )
    ap.add_argument("--config", help="config file (default: the project's)")
    ap.add_argument("--examples", type=int, default=20, help="findings shown (default 20)")
    args = ap.parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as e:
        print(f"pii_scan: {e}", file=sys.stderr)
        return 2
    scan = Scan(args.examples)
    var = Path(cfg["stack"]["var_dir"])
    scan_logs(scan, var / "log")
    scan_prometheus(scan, cfg)
    scan_kafka(scan, cfg)
    scan_redis(scan, cfg)
    scan_postgres(scan, cfg)
    lake = cfg["lake"]["dir"]
    if "://" in lake:
        print(f"lake {lake} is not a local folder: not scanned", file=sys.stderr)
    else:
        scan_parquet(scan, Path(lake))
    return scan.report()


if __name__ == "__main__":
    sys.exit(main())
