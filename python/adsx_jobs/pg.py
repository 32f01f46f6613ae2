"""One way for the Python jobs to reach the configured PostgreSQL ([postgres] section: host,
port, database, user, optional password_file), as the C++ side's pg::open does: a psycopg
connection for the driver, and the JDBC URL and properties for Spark's tasks (the PostgreSQL
driver is among the jars deploy/bootstrap.sh resolves)."""

from __future__ import annotations

import psycopg

from adsx_jobs.config import Config


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
