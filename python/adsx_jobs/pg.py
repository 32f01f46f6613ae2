"""One way for the Python jobs to open the configured PostgreSQL ([postgres] section: host,
port, database, user, optional password_file), as the C++ side's pg::open does."""

from __future__ import annotations

import psycopg

from adsx_jobs.config import Config


def connect(cfg: Config, **kwargs) -> psycopg.Connection:
    p = cfg["postgres"]
    password = None
    if p.get("password_file"):
        password = cfg.path("postgres", "password_file").read_text().strip()
    return psycopg.connect(
        host=p["host"],
        port=p["port"],
        dbname=p["database"],
        user=p["user"],
        password=password,
        connect_timeout=10,
        **kwargs,
    )
