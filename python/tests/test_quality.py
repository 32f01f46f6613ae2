"""Proves the data-quality gates of adsx_jobs.quality: good data passes every check (row count,
uniqueness, no nulls, ranges), and each broken check is reported with its counts, e.g. "at least
5 rows: 3 rows" (Spark local, no stack)."""

from adsx_jobs.quality import check, gate


def test_good_data_passes_every_gate(spark):
    df = spark.createDataFrame([(1, 0.1), (2, 0.5)], "ad_id long, ctr double")
    rules = [
        check.rows_at_least(2),
        check.unique(["ad_id"]),
        check.no_nulls(["ad_id", "ctr"]),
        check.between("ctr", 0.0, 1.0),
    ]
    assert gate(df, rules) == []


def test_each_broken_rule_is_reported_with_counts(spark):
    df = spark.createDataFrame([(1, 0.1), (1, 1.5), (None, -0.2)], "ad_id long, ctr double")
    problems = gate(
        df,
        [
            check.rows_at_least(5),
            check.unique(["ad_id"]),
            check.no_nulls(["ad_id"]),
            check.between("ctr", 0.0, 1.0),
            check.at_least("ctr", 0.0),
        ],
    )
    assert problems[0] == "at least 5 rows: 3 rows"
    assert problems[1].startswith("one row per ad_id: 1 keys repeat, e.g. {'ad_id': 1")
    assert "no nulls in ad_id: 1 of 3 rows fail" in problems
    assert "ctr in [0.0, 1.0]: 2 of 3 rows fail" in problems
    assert "ctr >= 0.0: 1 of 3 rows fail" in problems
