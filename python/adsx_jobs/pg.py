"""One way for the Python jobs to reach the configured PostgreSQL ([postgres] section: host,
port, database, user, optional password_file), as the C++ side's pg::open does: a psycopg
connection for the driver, and the JDBC URL and properties for Spark's tasks (the PostgreSQL
driver is among the jars deploy/bootstrap.sh resolves; `stage` loads a DataFrame so); and
`retrying`, a transaction retried with exponential backoff and jitter while PostgreSQL cannot be
reached."""

from __future__ import annotations

import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import psycopg

from adsx_jobs.config import Config

if TYPE_CHECKING:
    from pyspark.sql import DataFrame


def password(cfg: Config) -> str | None:
    if cfg["postgres"].get("password_file"):
        return cfg.path("postgres", "password_file").read_text().strip()
    return None


def connect(cfg: Config, **kwargs) -> psycopg.Connection:
    p = cfg["postgres"]
    return psycopg.connect(
        host=p["host"],
        port=p["port"],
        dbname=p["database"],
        user=p["user"],
        password=password(cfg),
        connect_timeout=10,
        **kwargs,
    )


def jdbc(cfg: Config) -> tuple[str, dict[str, str]]:
    """(url, properties) for DataFrameWriter.jdbc: inserts batched and rewritten by the driver
    into multi-row statements."""
    p = cfg["postgres"]
    url = f"jdbc:postgresql://{p['host']}:{p['port']}/{p['database']}?reWriteBatchedInserts=true"
    props = {"user": p["user"], "driver": "org.postgresql.Driver", "batchsize": "5000"}
    if (secret := password(cfg)) is not None:
        props["password"] = secret
    return url, props


def stage(cfg: Config, df: DataFrame, like: str, staging: str) -> None:
    """`df`'s rows in a fresh unlogged table `staging` shaped like table `like`, inserted by
    Spark's tasks over JDBC: they never pass through the driver (Python rows cost 2.5x). The
    caller moves them into `like` in one transaction and drops `staging`."""
    with connect(cfg) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {staging}")
        conn.execute(f"CREATE UNLOGGED TABLE {staging} (LIKE {like})")
    url, props = jdbc(cfg)
    df.write.jdbc(url, staging, mode="append", properties=props)


T = TypeVar("T")
BASE_S, CAP_S, GIVE_UP_S = 0.5, 16.0, 600.0
retries: Counter[str] = Counter()  # per `what`, for the jobs' summaries


def backoff(failures: int, rng: random.Random, base_s: float = BASE_S, cap_s: float = CAP_S):
    """The wait after the n-th consecutive failure: uniform in [d/2, d], d = min(cap, base ·
    2^(n-1)), as adsx::backoff (src/adsx/base/backoff.h): never less than half the step, so a
    recovered database is found within `cap_s`; jittered, so retrying clients spread out."""
    step = min(cap_s, base_s * 2 ** (failures - 1))
    return rng.uniform(step / 2, step)


def unreachable(e: BaseException) -> bool:
    """Whether `e` says PostgreSQL could not be reached or dropped the connection (refused,
    shut down, reset): psycopg's OperationalError, or a Spark job whose JDBC task failed so
    (the driver's SQLSTATE: class 08, connection exception, or 57P01-57P03, shut down)."""
    if isinstance(e, psycopg.OperationalError):
        return True
    # The Java exception behind a Spark failure: py4j's Py4JJavaError, or PySpark's conversion.
    cause = getattr(e, "java_exception", None) or getattr(e, "_origin", None)
    if cause is None:
        return False
    from pyspark import SparkContext

    sql_exception = SparkContext._jvm.java.lang.Class.forName("java.sql.SQLException")
    while cause is not None:
        if sql_exception.isInstance(cause):
            state = cause.getSQLState() or ""
            if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
                return True
        cause = cause.getCause()
    return False


def retrying(cfg: Config, what: str, body: Callable[[psycopg.Cursor], T],
             give_up_s: float = GIVE_UP_S, rng: random.Random | None = None) -> T:  # fmt: skip
    """body(cursor) in one transaction on a fresh connection, attempted again while PostgreSQL
    cannot be reached or drops the connection (`unreachable`: the body's own statements or the
    Spark jobs it runs, such as stage()) for up to `give_up_s`; each retry is a JSON line on
    stderr and counted in `retries[what]`. A body that committed before the connection broke is
    attempted again, so it must be idempotent (the lake job's batch ids make it so)."""
    rng = rng or random.Random()
    started, failures = time.monotonic(), 0
    while True:
        try:
            with connect(cfg) as conn, conn.cursor() as cur:
                return body(cur)
        except Exception as e:
            if not unreachable(e):
                raise
            failures += 1
            wait = backoff(failures, rng)
            if time.monotonic() - started + wait > give_up_s:
                raise
            retries[what] += 1
            reason = str(e).strip().split("\n")[0] or type(e).__name__
            line = {"level": "warning", "message": f"{what}: PostgreSQL not reached, retrying",
                    "failures": failures, "retry_in_s": round(wait, 3), "reason": reason}  # fmt: skip
            print(json.dumps(line), file=sys.stderr, flush=True)
            time.sleep(wait)
