"""The ad event contract (schemas/ad_event.schema.json) for Spark: the schema to parse the Kafka
values with, and the first rule each record breaks (null when it keeps them all), with the same
reason names as the C++ decoder and validator (src/adsx/events) where Spark can tell them apart.

Spark's JSON reader turns a missing field and a field of the wrong type alike into null, so
both are `missing_or_wrong_type` here; a record that is not JSON at all is `malformed_json`.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from adsx_jobs import contracts

UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
MAX_FUTURE_MS = 5 * 60_000  # as the stream engine

SCHEMA = T.StructType(
    [
        T.StructField("schema_version", T.LongType()),
        T.StructField("event_id", T.StringType()),
        T.StructField("event_type", T.StringType()),
        T.StructField("event_time", T.LongType()),
        T.StructField("user_id", T.StringType()),
        T.StructField("ad_id", T.LongType()),
        T.StructField("campaign_id", T.LongType()),
        T.StructField("advertiser_id", T.LongType()),
        T.StructField("request_id", T.StringType()),
        T.StructField("device", T.StringType()),
        T.StructField("geo", T.StringType()),
        T.StructField("placement", T.StringType()),
        T.StructField("slot", T.LongType()),
        T.StructField("bid", T.DoubleType()),
        T.StructField("price", T.DoubleType()),
        T.StructField("revenue", T.DoubleType()),
        T.StructField("experiment", T.StringType()),
        T.StructField("arm", T.StringType()),
        T.StructField("consent", T.StringType()),
        T.StructField("ip", T.StringType()),
        T.StructField("user_agent", T.StringType()),
    ]
)
NULLABLE = {"experiment", "arm"}
REQUIRED = [f.name for f in SCHEMA.fields if f.name not in NULLABLE]


def parse(value: Column) -> Column:
    """The event struct of a Kafka value (binary); null when it is not a JSON object."""
    return F.from_json(value.cast("string"), SCHEMA, {"mode": "PERMISSIVE"})


def reason(e: str = "e") -> Column:
    """The first contract rule the parsed event `e` breaks, or null."""
    c = lambda name: F.col(f"{e}.{name}")  # noqa: E731
    all_null = F.lit(True)
    for name in REQUIRED:
        all_null = all_null & c(name).isNull()
    rules: list[tuple[Column, str]] = [(F.col(e).isNull() | all_null, "malformed_json")]
    rules += [(c(name).isNull(), "missing_or_wrong_type") for name in REQUIRED]
    now_ms = F.unix_millis(F.current_timestamp())
    rules += [
        (c("schema_version") != 1, "invalid_value"),
        (~c("event_type").isin("impression", "click", "conversion"), "unknown_event_type"),
        (~c("event_id").rlike(UUID) | ~c("request_id").rlike(UUID), "invalid_value"),
        (c("event_time") < 0, "invalid_value"),
        (c("event_time") > now_ms + MAX_FUTURE_MS, "future_timestamp"),
        (~c("user_id").rlike(r"^[a-z0-9]{1,8}:[0-9a-f]{32}$"), "invalid_value"),
        ((c("ad_id") < 1) | (c("campaign_id") < 1) | (c("advertiser_id") < 1), "invalid_value"),
        (~c("device").isin("ios", "android", "desktop", "ctv"), "invalid_value"),
        (~c("geo").rlike(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$"), "invalid_value"),
        ((F.length(c("placement")) < 1) | (F.length(c("placement")) > 64), "invalid_value"),
        ((c("slot") < 1) | (c("slot") > 10), "invalid_value"),
        ((c("bid") < 0) | (c("price") < 0) | (c("revenue") < 0), "negative_amount"),
        ((c("event_type") != "conversion") & (c("revenue") != 0), "invalid_value"),
        (F.length(c("consent")) < 1, "invalid_value"),
        (F.length(c("user_agent")) > 64, "invalid_value"),
    ]
    out = F.lit(None).cast("string")
    for broken, name in reversed(rules):
        out = F.when(broken, F.lit(name)).otherwise(out)
    return out


def personalised(consent_column: str) -> Column:
    """Whether a TCF v2 consent string allows personalisation, as the C++ side decides
    (src/adsx/privacy): the PurposesConsent bits of schemas/online_store.json's purposes, in
    the core string (base64url without padding)."""
    byte, mask = contracts.personalisation_mask()
    core = f"split({consent_column}, '[.]')[0]"
    padded = f"rpad(translate({core}, '-_', '+/'), cast(ceil(length({core}) / 4) * 4 as int), '=')"
    value = F.conv(F.hex(F.substring(F.unbase64(F.expr(padded)), byte + 1, 1)), 16, 10)
    return value.cast("int").bitwiseAND(mask) == mask
