"""Data-quality gates for the jobs' outputs: declarative checks over a DataFrame, evaluated in
one aggregation pass, returning readable failures (empty = pass).

  problems = gate(df, [check.rows_at_least(1), check.unique(["ad_id"]),
                       check.no_nulls(["ad_id"]), check.between("ctr_7d", 0, 1)])
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Check:
    name: str
    bad: Column | None  # rows failing it (counted), or None for a whole-table check
    limit: int = 0  # failures allowed


class check:  # noqa: N801 - a namespace of constructors, read as check.unique(...)
    @staticmethod
    def rows_at_least(n: int) -> Check:
        return Check(f"at least {n} rows", None, n)

    @staticmethod
    def unique(keys: list[str]) -> Check:
        return Check(f"one row per {', '.join(keys)}", None, -1)

    @staticmethod
    def no_nulls(columns: list[str]) -> Check:
        bad = F.lit(False)
        for c in columns:
            bad = bad | F.col(c).isNull()
        return Check(f"no nulls in {', '.join(columns)}", bad)

    @staticmethod
    def between(column: str, low: float, high: float | None) -> Check:
        c = F.col(column)
        bad = c < low if high is None else (c < low) | (c > high)
        where = f">= {low}" if high is None else f"in [{low}, {high}]"
        return Check(f"{column} {where}", F.coalesce(bad, F.lit(False)))

    @staticmethod
    def at_least(column: str, low: float) -> Check:
        return check.between(column, low, None)


def gate(df: DataFrame, checks: list[Check]) -> list[str]:
    row_checks = [c for c in checks if c.bad is not None]
    aggs = [F.count(F.lit(1)).alias("rows")] + [
        F.sum(c.bad.cast("long")).alias(f"c{i}") for i, c in enumerate(row_checks)
    ]
    got = df.agg(*aggs).first()
    rows = got["rows"]
    problems = []
    for c in checks:
        if c.bad is None and c.limit >= 0 and rows < c.limit:
            problems.append(f"{c.name}: {rows} rows")
        elif c.bad is None and c.limit < 0:
            keys = c.name.removeprefix("one row per ").split(", ")
            dup = df.groupBy(*keys).count().where(F.col("count") > 1)
            n = dup.count()
            if n:
                example = dup.first().asDict()
                problems.append(f"{c.name}: {n} keys repeat, e.g. {example}")
    for i, c in enumerate(row_checks):
        n = got[f"c{i}"] or 0
        if n > c.limit:
            problems.append(f"{c.name}: {n} of {rows} rows fail")
    return problems
