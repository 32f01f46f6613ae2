"""The erasure suppression list for the Python jobs: the pseudonyms `adsx privacy erase` put on
PostgreSQL's privacy_suppressed (docs/privacy.md). An erased user is treated as the stream engine
treats them, as a user without personalisation consent: no user-level row is written for them
(the daily job's user view, materialization into u:{user}), while their events still count in
ad and campaign aggregates, which hold no personal data. Event rows keep their place in the lake
with every field that links them to the person emptied (`anonymised`), so ad counts computed from
the lake still equal the stream engine's. So re-running a job over data written before the
erasure cannot bring the user back into any store."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from adsx_jobs import pg
from adsx_jobs.config import Config

# The event fields that link a record to a person: the pseudonym, and the quasi-identifiers a
# record carries beside it (the TCF string holds its creation time to the decisecond, the
# truncated IP with the user agent narrows a person down): docs/privacy.md, "Kafka".
EVENT_PERSONAL = ("user_id", "consent", "ip", "user_agent")


def suppressed(cfg: Config) -> list[str]:
    """The whole list, read once at a job's start."""
    with pg.connect(cfg) as conn, conn.cursor() as cur:
        cur.execute("SELECT user_id FROM privacy_suppressed")
        return [u for (u,) in cur.fetchall()]


def _listed(df: DataFrame, erased: list[str], column: str) -> DataFrame:
    """The list as a DataFrame to join `df` with (broadcast: it is small, the rows are many)."""
    listed = df.sparkSession.createDataFrame([(u, True) for u in erased], [column, "_erased"])
    return F.broadcast(listed)


def keep_personal(df: DataFrame, erased: list[str], column: str = "user_id") -> DataFrame:
    """The rows of `df` whose `column` is not an erased user (an anti-join with the list)."""
    if not erased:
        return df
    return df.join(_listed(df, erased, column).drop("_erased"), column, "left_anti")


def anonymised(df: DataFrame, erased: list[str], personal: list[str]) -> DataFrame:
    """`df` with the `personal` columns of erased users' rows set to null (`user_id` among them),
    every row kept in its place and every other value unchanged. Works on a stream too (a
    stream-static join)."""
    if not erased:
        return df
    flagged = df.join(_listed(df, erased, "user_id"), "user_id", "left")
    kept = F.col("_erased").isNull()
    return flagged.select(
        *[F.when(kept, F.col(c)).alias(c) if c in personal else F.col(c) for c in df.columns]
    )


def names_erased(raw: Column, erased: list[str]) -> Column:
    """Whether raw record bytes (a rejected record, kept as received) name an erased user."""
    text = raw.cast("string")
    return F.exists(F.array(*[F.lit(u) for u in erased]), text.contains)
