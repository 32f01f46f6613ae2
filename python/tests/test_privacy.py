"""Proves adsx_jobs.privacy.keep_personal, the offline side of the suppression list: an erased
user's rows go, every other row stays as it was, and an empty list changes nothing (Spark
local, no stack)."""

from adsx_jobs.privacy import keep_personal


def test_erased_users_rows_go_and_the_rest_stay(spark):
    rows = [("k1:" + f"{i:032x}", i, f"v{i}") for i in range(50)] + [("k1:" + "0" * 32, 99, "x")]
    df = spark.createDataFrame(rows, ["user_id", "n", "v"])
    erased = ["k1:" + "0" * 32, "k1:" + f"{7:032x}", "k1:" + "f" * 32]  # the last holds no row
    kept = sorted(tuple(r) for r in keep_personal(df, erased).collect())
    assert kept == sorted(r for r in rows if r[0] not in erased)
    assert sorted(tuple(r) for r in keep_personal(df, []).collect()) == sorted(rows)
