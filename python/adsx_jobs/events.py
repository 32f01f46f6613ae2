"""The ad event contract for Spark, built from schemas/ad_event.schema.json, the only definition
of it (the C++ validator of `adsx stream` is built from the same file; its description gives the
order in which rules decide a record's verdict, and tests/integration/test_event_agreement.py
holds the two equal on a fuzzed corpus).

  d = events.decoded(source)                                  # adds the parsed members, d_…
  d.withColumn("reason", events.verdict("d", max_future_ms))  # null when valid
  d.select(*events.columns("d"))                              # typed event columns

Spark's JSON reader is more lenient than the contract (it ignores trailing bytes, repeated
members and numbers out of range, replaces invalid UTF-8, and reads any token as a string), so
the verdict is built from: the members as text (one strict parse into a map), the record with
its strings blanked (a regular expression), and, only for the rare record that needs it, typed
re-parses that tell a JSON string from a number, boolean, object or array with the same text.
All built-in SQL functions: nothing runs in Python per record.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from adsx_jobs import contracts

# The strictest JSON the reader accepts: RFC 8259, no extensions.
STRICT = {
    "mode": "PERMISSIVE",
    "allowComments": "false",
    "allowUnquotedFieldNames": "false",
    "allowSingleQuotes": "false",
    "allowNumericLeadingZeros": "false",
    "allowNonNumericNumbers": "false",
    "allowBackslashEscapingAnyCharacter": "false",
    "allowUnquotedControlChars": "false",
}
# A JSON string token (runs matched possessively: Java's regex engine recurses per repetition
# of an alternation, and a long string would overflow its stack), and the text of a number.
STRING = r'"(?:[^"\\\x00-\x1f]++|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*+"'
NUMBER = r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?"
INTEGER = r"^-?(?:0|[1-9][0-9]*)$"
WS = r"[ \t\n\r]*"
# A \u escape of a UTF-16 surrogate that is not part of a high-low pair (the C++ parser refuses
# those; Java's reader takes them). An escape is a backslash preceded by an even number of them.
LONE_SURROGATE = (
    r"(?<!\\)(?:\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})(?<!\\)(?:\\\\)*\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)
INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1
# Spark's types of the schema's JSON types.
SPARK_TYPES = {"string": T.StringType(), "integer": T.LongType(), "number": T.DoubleType()}


@cache
def schema() -> dict[str, Any]:
    with open(contracts.SCHEMAS / "ad_event.schema.json") as f:
        return json.load(f)


def properties() -> list[tuple[str, dict[str, Any]]]:
    """The schema's properties in order, each with its rules."""
    return list(schema()["properties"].items())


def json_types(rules: dict[str, Any]) -> tuple[str, bool]:
    """A property's JSON type and whether it may be null."""
    t = rules["type"]
    types = [t] if isinstance(t, str) else list(t)
    nullable = "null" in types
    types = [x for x in types if x != "null"]
    if len(types) != 1 or types[0] not in SPARK_TYPES:
        raise ValueError(f"unsupported type {t!r} in ad_event.schema.json")
    return types[0], nullable


def java_pattern(p: str) -> str:
    """An ECMA-262 pattern as a Java one: '$' matches only at the end, as ECMA's does (Java's
    also matches before a final line break)."""
    if "$" in p[:-1]:
        raise ValueError(f"pattern {p!r}: '$' only as the last character is supported")
    return p[:-1] + r"\z" if p.endswith("$") else p


# -- decoding --------------------------------------------------------------------------------


def _typed_schema() -> T.StructType:
    """Each property as its Spark type: a valid record parses without a failed field (a failed
    field is slow: an exception), and Spark reads any token as text for a string."""
    return T.StructType(
        [T.StructField(name, SPARK_TYPES[json_types(p)[0]]) for name, p in properties()]
    )


def canonical_pattern() -> str:
    """The record as the generator and any compact serializer write it: members in schema
    order, no whitespace, integers of at most 18 digits and exponents of at most 2 (so no
    number is out of range). A record of this shape is one JSON object with just the
    properties, each once and of its JSON type."""
    integer = r"-?(?:0|[1-9][0-9]{0,17})"
    tokens = {
        "string": STRING,
        "integer": integer,
        "number": integer + r"(?:\.[0-9]+)?(?:[eE][+-]?[0-9]{1,2})?",
    }
    members = []
    for name, p in properties():
        json_type, nullable = json_types(p)
        token = tokens[json_type]
        members.append(f'"{name}":' + (f"(?:{token}|null)" if nullable else token))
    return r"^\{" + ",".join(members) + r"\}\z"


def decoded(source: DataFrame, value: str = "value", d: str = "d") -> DataFrame:
    """`source` plus what the verdict and the event columns are computed from, as columns named
    `{d}_…`: the raw bytes, the text, the record parsed with the schema's types (`{d}_typed`:
    right for a valid record) and whether the record is canonical (`{d}_fast`: of
    canonical_pattern()'s shape, valid UTF-8, no lone surrogate, every value keyword held).

    A record that is not canonical also gets, for the full verdict: its members as text
    (`{d}_m`, null when it is not a JSON object), each property's (`{d}_v_{name}`) and the
    record with every string blanked (`{d}_blank`). A canonical one skips these: they cost
    four times what the canonical check does.

    Separate columns, not one struct: Spark inlines a struct's fields, and a parse, into every
    expression that reads them, and the verdict reads them dozens of times."""
    text = F.col(f"{d}_text")
    typed = F.col(f"{d}_typed")
    stage1 = (
        source.withColumn(f"{d}_raw", F.col(value))
        .withColumn(f"{d}_text", F.col(value).cast("string"))
        .withColumn(f"{d}_typed", F.from_json(text, _typed_schema(), STRICT))
    )
    fast = text.rlike(canonical_pattern()) & _valid_utf8(d) & ~_lone_surrogate(text)
    for name, p in properties():
        json_type, _ = json_types(p)
        for _keyword, holds in _value_checks(typed[name], json_type, p):
            fast = fast & (typed[name].isNull() | holds)
    stage2 = stage1.withColumn(f"{d}_fast", F.coalesce(fast, F.lit(False)))
    slow = ~F.col(f"{d}_fast")
    stage3 = stage2.withColumn(
        f"{d}_m",
        F.when(slow, F.from_json(text, T.MapType(T.StringType(), T.StringType()), STRICT)),
    ).withColumn(f"{d}_blank", F.when(slow, F.regexp_replace(text, STRING, '""')))
    # Each member's text looked up once (element_at, not m[name]: Spark would inline a plain
    # lookup into each of the verdict's dozen uses, and a lookup scans the keys).
    m = F.col(f"{d}_m")
    return stage3.select(
        "*", *[F.element_at(m, F.lit(name)).alias(f"{d}_v_{name}") for name, _ in properties()]
    )


def _part(d: str, name: str) -> Column:
    return F.col(f"{d}_{name}")


def _member(d: str, name: str) -> Column:
    """Member `name`'s text: null when absent or JSON null."""
    return _part(d, f"v_{name}")


def _valid_utf8(d: str) -> Column:
    """Invalid UTF-8 does not survive decoding (Java replaces it). (Counting characters would
    not tell: Spark counts one for an invalid byte.)"""
    raw = _part(d, "raw")
    return F.encode(F.decode(raw, "UTF-8"), "UTF-8") == raw


def _lone_surrogate(text: Column) -> Column:
    return F.when(text.contains("\\u"), text.rlike(LONE_SURROGATE)).otherwise(False)


def _malformed(d: str) -> Column:
    """Whether the record is not one JSON object as the contract reads JSON."""
    raw, text, m, blank = (_part(d, x) for x in ("raw", "text", "m", "blank"))
    # One value, no trailing bytes, nesting within the limit: with strings blanked, a flat
    # object has no brackets inside; else innermost brackets are folded to 0, once per level.
    flat = blank.rlike(rf"^{WS}\{{[^{{}}\[\]]*\}}{WS}$")
    folded = blank
    for _ in range(schema()["x-adsx-max-depth"]):
        folded = F.regexp_replace(folded, r"\{[^{}\[\]]*\}|\[[^{}\[\]]*\]", "0")
    one_value = F.when(flat, True).otherwise(folded.rlike(rf"^{WS}0{WS}$"))
    # A repeated member: the map keeps both. Not when it holds just the properties, each once.
    names = [name for name, _ in properties()]
    just_the_properties = (F.size(m) == len(names)) & _all_present(d, names)
    repeated = F.when(just_the_properties, False).otherwise(
        F.size(F.array_distinct(F.map_keys(m))) != F.size(m)
    )
    # Numbers the C++ parser refuses: integers outside [-2^63, 2^64 - 1], doubles that overflow.
    # Only a long digit run or a 3-digit exponent can be one.
    out_of_range = F.when(
        blank.rlike(r"[0-9]{19}|[eE][+-]?[0-9]{3}"),
        F.exists(
            F.regexp_extract_all(blank, F.lit(f"({NUMBER})"), 1),
            lambda n: F.when(
                n.rlike(INTEGER),
                (F.length(n) > 21)
                | ~n.cast("decimal(21,0)").between(
                    F.lit(str(INT64[0])).cast("decimal(21,0)"),
                    F.lit(str(UINT64_MAX)).cast("decimal(21,0)"),
                ),
            ).otherwise(F.isnull(n.cast("double")) | (F.abs(n.cast("double")) == float("inf"))),
        ),
    ).otherwise(False)
    return (
        m.isNull() | ~_valid_utf8(d) | ~one_value | repeated | out_of_range | _lone_surrogate(text)
    )


def _all_present(d: str, names: list[str]) -> Column:
    """Whether every member of `names` is present (a null text: absent, or JSON null)."""
    out = F.lit(True)
    for name in names:
        v = _member(d, name)
        out = out & (v.isNotNull() | F.map_contains_key(_part(d, "m"), name))
    return out


def _is_string(d: str, name: str) -> Column:
    """Whether member `name` (present, not null) is a JSON string. Its text tells, unless a
    string could have it too (a number's, true, false, or an object's or array's JSON): then a
    typed parse of the record decides (it fails for a string; rare, so done only then)."""
    v = _member(d, name)
    text = _part(d, "text")

    def typed(t: T.DataType) -> Column:
        return F.from_json(text, T.StructType([T.StructField(name, t)]), STRICT)[name].isNull()

    first = F.substring(v, 1, 1)
    return (
        F.when(~first.isin(*"-0123456789tf{["), True)
        .when(v.rlike(f"^{NUMBER}$"), typed(T.DoubleType()))
        .when(v.isin("true", "false"), typed(T.BooleanType()))
        .when(v.startswith("{"), typed(T.MapType(T.StringType(), T.StringType())))
        .when(v.startswith("["), typed(T.ArrayType(T.StringType())))
        .otherwise(True)
    )


def _type_ok(d: str, name: str, json_type: str) -> Column:
    v = _member(d, name)
    if json_type == "string":
        return _is_string(d, name)
    # A number token (strict JSON, as Jackson reads it); for an integer, one within int64.
    is_number = _part(d, "typed")[name].isNotNull()
    if json_type == "integer":
        fits = (F.length(v) <= 18) | v.cast("decimal(20,0)").between(
            F.lit(INT64[0]), F.lit(INT64[1])
        )
        return is_number & v.rlike(INTEGER) & fits
    return is_number


# The value keywords, in the order a value is checked against them (contract.h's `keyword`).
KEYWORDS = ["const", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern"]


def reason_of(rules: dict[str, Any], keyword: str) -> str:
    """The reason when `keyword` fails: x-adsx-reason names one for all the property's
    keywords, or one per keyword ({keyword: reason}); invalid_value otherwise."""
    r = rules.get("x-adsx-reason", "invalid_value")
    if isinstance(r, str):
        return r
    unknown = set(r) - set(KEYWORDS)
    if unknown:
        raise ValueError(f"x-adsx-reason: {sorted(unknown)} are not value keywords")
    return r.get(keyword, "invalid_value")


def _value_checks(v: Column, json_type: str, rules: dict[str, Any]) -> list[tuple[str, Column]]:
    """(keyword, holds) for each value keyword of the property, in KEYWORDS order."""
    if json_type == "string":
        x = v
        checks = {
            "enum": lambda: v.isin(*rules["enum"]),
            "minLength": lambda: F.length(v) >= rules["minLength"],
            "maxLength": lambda: F.length(v) <= rules["maxLength"],
            "pattern": lambda: v.rlike(java_pattern(rules["pattern"])),
        }
    else:
        x = v.cast("bigint") if json_type == "integer" else v.cast("double")
        checks = {
            "const": lambda: x == F.lit(rules["const"]),
            "minimum": lambda: x >= F.lit(rules["minimum"]),
            "maximum": lambda: x <= F.lit(rules["maximum"]),
        }
    return [(k, checks[k]()) for k in KEYWORDS if k in rules and k in checks]


def _record_rules(d: str, max_future_ms: int) -> list[tuple[Column, str]]:
    """The schema's x-adsx-record-rules, each as (broken, reason), in order."""

    def m(name: str) -> Column:  # the property's value (the properties' rules held)
        return _part(d, "typed")[name]

    implemented = {
        "future_timestamp": lambda: (
            m("event_time") > F.unix_millis(F.current_timestamp()) + F.lit(max_future_ms)
        ),
        "revenue_only_on_conversions": lambda: (
            (m("event_type") != "conversion") & (m("revenue") != 0)
        ),
    }
    out = []
    for r in schema()["x-adsx-record-rules"]:
        if r["rule"] not in implemented:
            raise ValueError(f"ad_event.schema.json: record rule {r['rule']!r} is not implemented")
        out.append((implemented[r["rule"]](), r["reason"]))
    return out


def verdict(d: str, max_future_ms: int) -> Column:
    """The reason the record decoded() into columns `{d}_…` breaks the contract, or null: the
    first rule broken, in the schema's order (its description). A canonical record (decoded())
    has held every rule but the record rules; any other gets the full verdict."""
    m = _part(d, "m")
    required = set(schema()["required"])
    rules: list[tuple[Column, str]] = [(_malformed(d), "malformed_json")]
    present = []  # per property: 1 when present
    for name, p in properties():
        json_type, nullable = json_types(p)
        v = _member(d, name)
        absent = v.isNull() & ~F.map_contains_key(m, name)  # null: absent, or JSON null
        if name in required:
            rules.append((absent, "missing_field"))
            present.append(F.lit(1))
        else:
            present.append(F.when(absent, 0).otherwise(1))
        if not nullable:
            rules.append((v.isNull() & ~absent, "wrong_type"))
        rules.append((v.isNotNull() & ~_type_ok(d, name, json_type), "wrong_type"))
        for keyword, holds in _value_checks(v, json_type, p):
            rules.append((v.isNotNull() & ~holds, reason_of(p, keyword)))
    # A member the schema does not name (no member is repeated: that is malformed).
    rules.append((F.size(m) > sum(present[1:], present[0]), "invalid_value"))
    record_rules = _record_rules(d, max_future_ms)
    reason = F.when(_part(d, "fast"), _first(record_rules)).otherwise(_first(rules + record_rules))
    # Marked non-deterministic (a condition on the task's partition id that always holds), so
    # that Spark's optimizer never pushes a filter on the verdict below the projection that
    # computes it: pushed down, the filter inlines the decoded columns it reads, and their
    # parses, at every use. The lake's `where(reason IS NULL)` planned that way was a plan of
    # 22 MB with 22,617 from_json calls, and 3.5x the time of the verdict computed once.
    return F.when(F.spark_partition_id() >= 0, reason)


def _first(rules: list[tuple[Column, str]]) -> Column:
    """The reason of the first rule broken, or null. One flat CASE WHEN: Spark splits its
    branches into methods the JIT compiles; nested ones make a method too large (2.5x slower)."""
    out = F.when(rules[0][0], F.lit(rules[0][1]))
    for broken, name in rules[1:]:
        out = out.when(broken, F.lit(name))
    return out


def typed_column(d: str = "d") -> str:
    """The name of decoded()'s column that columns() reads: keep it to keep the events."""
    return f"{d}_typed"


def columns(d: str = "d") -> list[Column]:
    """The event's members as typed columns, named as in the schema (valid records only)."""
    typed = F.col(typed_column(d))
    return [typed[name].alias(name) for name, _ in properties()]


def personalised(consent_column: str) -> Column:
    """Whether a TCF v2 consent string allows personalisation, as the C++ side decides
    (src/adsx/privacy): the PurposesConsent bits of schemas/online_store.json's purposes, in
    the core string (base64url without padding)."""
    byte, mask = contracts.personalisation_mask()
    core = f"split({consent_column}, '[.]')[0]"
    padded = f"rpad(translate({core}, '-_', '+/'), cast(ceil(length({core}) / 4) * 4 as int), '=')"
    value = F.conv(F.hex(F.substring(F.unbase64(F.expr(padded)), byte + 1, 1)), 16, 10)
    return value.cast("int").bitwiseAND(mask) == mask
