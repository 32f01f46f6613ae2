"""adsx_jobs.pg's retry schedule and loop, without a database: the waits grow as the C++
backoff's do (upper half of a doubling step, capped), and `retrying` attempts again on a
connection failure (its own or a Spark JDBC task's), gives up past its budget, and never
retries an error that is the database's answer."""

import random
import re
import socket

import psycopg
import pytest
from pyspark.sql import functions as F

from adsx_jobs import config, pg


def test_each_wait_is_in_the_upper_half_of_a_doubling_step_up_to_the_cap():
    rng = random.Random(7)
    for n, step in enumerate([0.5, 1, 2, 4, 8, 16, 16, 16], start=1):
        wait = pg.backoff(n, rng)
        assert step / 2 <= wait <= step, (n, wait)
    waits = {round(pg.backoff(3, rng), 6) for _ in range(50)}
    assert len(waits) > 10  # jittered, not one fixed delay


class Flaky:
    """A `connect` that refuses `down` times, then yields a fake connection."""

    def __init__(self, down: int):
        self.down, self.calls = down, 0

    def __call__(self, cfg):
        self.calls += 1
        if self.calls <= self.down:
            raise psycopg.OperationalError("connection refused")
        return Connection()


class Connection:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def cursor(self):
        return self


def test_retrying_attempts_again_until_the_database_answers(monkeypatch, capsys):
    flaky = Flaky(down=3)
    monkeypatch.setattr(pg, "connect", flaky)
    monkeypatch.setattr(pg.time, "sleep", lambda s: None)
    before = pg.retries["unit"]
    assert pg.retrying(None, "unit", lambda cur: 42) == 42
    assert flaky.calls == 4 and pg.retries["unit"] - before == 3
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and all('"unit: PostgreSQL not reached, retrying"' in x for x in lines)


def test_retrying_gives_up_past_its_budget_and_never_retries_an_answer(monkeypatch):
    monkeypatch.setattr(pg, "connect", Flaky(down=100))
    monkeypatch.setattr(pg.time, "sleep", lambda s: None)
    with pytest.raises(psycopg.OperationalError):
        pg.retrying(None, "unit", lambda cur: 1, give_up_s=0.1)
    monkeypatch.setattr(pg, "connect", Flaky(down=0))
    calls = []

    def refused(cur):
        calls.append(1)
        raise psycopg.errors.UniqueViolation("duplicate key")

    with pytest.raises(psycopg.errors.UniqueViolation):
        pg.retrying(None, "unit", refused)
    assert len(calls) == 1


def test_a_spark_jdbc_task_that_cannot_connect_is_unreachable_and_other_failures_are_not(spark):
    cfg = config.load()
    url, props = pg.jdbc(cfg)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # a port nothing listens on
    port = closed.getsockname()[1]
    url = re.sub(r"//[^/]+/", f"//127.0.0.1:{port}/", url)
    with pytest.raises(Exception) as refused:
        spark.range(3).write.jdbc(url, "t", mode="append", properties=props)
    closed.close()
    assert pg.unreachable(refused.value)
    with pytest.raises(Exception) as failed:
        spark.range(3).select(F.raise_error(F.lit("not a database's fault"))).collect()
    assert not pg.unreachable(failed.value)
    assert not pg.unreachable(ValueError("no Java in it"))
