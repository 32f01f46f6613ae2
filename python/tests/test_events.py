"""Proves the lake job's contract rules (adsx_jobs.events, Spark SQL built from
schemas/ad_event.schema.json) give crafted records the verdicts the C++ contract gives them in
src/adsx/events/tests/contract_test.cc: single faults, malformed JSON first whatever else is
wrong, the first property in the schema's order deciding, and the event columns of a valid
record (Spark local, no stack). tests/integration/test_event_agreement.py holds the two equal
on a fuzzed corpus through the real stream and lake."""

import time

from pyspark.sql import functions as F

from adsx_jobs import events

NOW = int(time.time() * 1000)
T = NOW - 3_600_000
VALID = (
    '{"schema_version":1,"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e",'
    f'"event_type":"impression","event_time":{T},'
    '"user_id":"k1:0123456789abcdef0123456789abcdef","ad_id":17,"campaign_id":3,'
    '"advertiser_id":2,"request_id":"7c9e6679-7425-40de-944b-e07fc1f90ae7","device":"ios",'
    '"geo":"US-CA","placement":"feed","slot":1,"bid":2.5,"price":0.0021,"revenue":0,'
    '"experiment":null,"arm":null,"consent":"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",'
    '"ip":"203.0.113.0","user_agent":"Safari/iOS"}'
)


def with_(s: str, old: str, new: str) -> str:
    assert old in s, old
    return s.replace(old, new, 1)


CASES = [
    (VALID, None),
    (with_(VALID, "k1:0123456789abcdef0123456789abcdef", "K1:NOT-HEX"), "invalid_value"),
    (with_(VALID, '"feed"', '"' + "x" * 100 + '"'), "invalid_value"),
    (with_(VALID, '"feed"', '"' + "x" * 64 + '"'), None),
    (with_(VALID, '"Safari/iOS"', '"' + "y" * 200 + '"'), "invalid_value"),
    (with_(VALID, '"feed"', "5"), "wrong_type"),
    (with_(VALID, '"feed"', '"5"'), None),
    (with_(VALID, '"feed"', '{"a":[1]}'), "wrong_type"),
    (with_(VALID, '"experiment":null', '"experiment":5'), "wrong_type"),
    (with_(VALID, '"geo":"US-CA"', '"geo":null'), "wrong_type"),
    (with_(VALID, '"geo":"US-CA"', '"geo":"US\\n"'), "invalid_value"),
    (with_(VALID, '"slot":1', '"slot":1.0'), "wrong_type"),
    (with_(VALID, '"ad_id":17', '"ad_id":"17"'), "wrong_type"),
    (with_(VALID, '"ad_id":17', '"ad_id":18446744073709551615'), "wrong_type"),
    (with_(VALID, '"ad_id":17', '"ad_id":2147483647'), None),
    (with_(VALID, '"ad_id":17', '"ad_id":2147483648'), "invalid_value"),
    (with_(VALID, '"revenue":0', '"revenue":3'), "invalid_value"),
    (with_(VALID, '"bid":2.5', '"bid":-2.5'), "negative_amount"),
    (with_(VALID, '"bid":2.5', '"bid":9.2e18'), "invalid_value"),
    (with_(VALID, '"experiment":null', '"experiment":"a\\u0000b"'), "invalid_value"),
    (with_(VALID, '"Safari/iOS"', '"Safari\\tiOS"'), "invalid_value"),
    (with_(VALID, '"203.0.113.0"', '"203.0.113.0; drop"'), "invalid_value"),
    (with_(VALID, '"impression"', '"hover"'), "unknown_event_type"),
    (with_(VALID, str(T), str(NOW + 900_000)), "future_timestamp"),
    # Malformed first.
    (VALID + " x", "malformed_json"),
    (VALID + "}", "malformed_json"),
    (VALID + " \n", None),
    (with_(VALID, '"ad_id":17', '"ad_id":"x"') + "X", "malformed_json"),
    (with_(VALID, '"slot":1', '"slot":1,"slot":2'), "malformed_json"),
    (with_(VALID, '"feed"', "[[[[[[[1]]]]]]]"), "wrong_type"),
    (with_(VALID, '"feed"', "[[[[[[[[1]]]]]]]]"), "malformed_json"),
    (with_(VALID, '"ad_id":17', '"ad_id":99999999999999999999'), "malformed_json"),
    (with_(VALID, '"bid":2.5', '"bid":1e400'), "malformed_json"),
    (with_(VALID, '"feed"', '"\\ud800"'), "malformed_json"),
    (with_(VALID, '"feed"', '"\\ud83d\\ude00"'), None),
    # The first property in the schema's order decides; missing before unknown.
    (with_(with_(VALID, '"ad_id":17', '"ad_id":"x"'), '"geo":"US-CA"', '"geo":5'), "wrong_type"),
    (
        with_(
            with_(VALID, '"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e",', ""),
            '"ad_id":17',
            '"ad_id":"x"',
        ),
        "missing_field",
    ),
    (with_(VALID, '"slot":1', '"slot":1,"z":0'), "invalid_value"),
]


def test_verdicts_equal_the_cpp_contracts(spark):
    records = [(i, r.encode()) for i, (r, _) in enumerate(CASES)]
    records.append((len(CASES), VALID.replace('"feed"', '"fe\xff"').encode("latin-1")))
    expected = [e for _, e in CASES] + ["malformed_json"]
    df = spark.createDataFrame(records, "i int, value binary")
    got = {
        r["i"]: r["reason"]
        for r in events.decoded(df)
        .select("i", events.verdict("d", 300_000).alias("reason"))
        .collect()
    }
    wrong = [(i, expected[i], got[i]) for i in range(len(expected)) if got[i] != expected[i]]
    assert not wrong, wrong


def test_a_valid_records_columns_are_typed_as_the_schema_says(spark):
    df = spark.createDataFrame([(VALID.encode(),)], "value binary")
    row = events.decoded(df).select(*events.columns("d")).collect()[0]
    assert row["ad_id"] == 17 and row["event_time"] == T and row["bid"] == 2.5
    assert row["experiment"] is None and row["geo"] == "US-CA"
    assert [f.name for f in events.decoded(df).select(*events.columns("d")).schema] == [
        name for name, _ in events.properties()
    ]
    # Canonical: the members' texts are not even parsed.
    assert events.decoded(df).select("d_fast", "d_m").collect()[0] == (True, None)
    spaced = spark.createDataFrame([(VALID.replace(",", ", ").encode(),)], "value binary")
    fast, m = events.decoded(spaced).select("d_fast", "d_m").collect()[0]
    assert not fast and m["slot"] == "1"


def test_a_filter_on_the_verdict_is_planned_above_it_not_inlined_into_the_parse(spark):
    # A filter pushed below the verdict's projection inlines every decoded column it reads,
    # with its parse, at each use: 22,617 parses in one plan before the verdict kept it above.
    df = spark.createDataFrame([(VALID.encode(),), (b"{",)], "value binary")
    d = events.decoded(df).withColumn("reason", events.verdict("d", 300_000))
    valid = d.where(F.col("reason").isNull()).select(*events.columns("d"))
    plan = valid._jdf.queryExecution().executedPlan().toString()
    assert plan.count("from_json") < 100, plan.count("from_json")
    assert [r["ad_id"] for r in valid.collect()] == [17]
