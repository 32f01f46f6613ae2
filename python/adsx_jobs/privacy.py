"""The erasure suppression list for the Python jobs: the pseudonyms `adsx privacy erase` put on
PostgreSQL's privacy_suppressed (docs/privacy.md). An erased user is treated as the stream engine
treats them, as a user without personalisation consent: no user-level row is written for them
(the daily job's user view, materialization into u:{user}), while their events still count in
ad and campaign aggregates, which hold no personal data. So re-running a job over data written
before the erasure cannot bring the user back into the stores erasure covers."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from adsx_jobs import pg
from adsx_jobs.config import Config


def suppressed(cfg: Config) -> list[str]:
    """The whole list, read once at a job's start."""
    with pg.connect(cfg) as conn, conn.cursor() as cur:
        cur.execute("SELECT user_id FROM privacy_suppressed")
        return [u for (u,) in cur.fetchall()]


def keep_personal(df: DataFrame, erased: list[str], column: str = "user_id") -> DataFrame:
    """The rows of `df` whose `column` is not an erased user (an anti-join with the list
    broadcast: it is small, the rows are many)."""
    if not erased:
        return df
    listed = df.sparkSession.createDataFrame([(u,) for u in erased], [column])
    return df.join(F.broadcast(listed), column, "left_anti")
