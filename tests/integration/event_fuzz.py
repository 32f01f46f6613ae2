"""A seeded mutation fuzzer over valid ad events: the corpus of the contract agreement test
(test_event_agreement.py). Each record is a valid event (from `seeds`) with one to three
mutations drawn from what real collectors get wrong and what a JSON parser must decide:
values of every JSON type and range in every member (numbers at the int64/uint64/double
limits, strings at the length limits, escapes, surrogates, nested objects and arrays near the
nesting limit), members removed, added, repeated or renamed, keys escaped, truncation, byte
flips, whitespace and trailing bytes. Times are never near the future limit: a verdict there
would depend on when each side looked at its clock.

  records = list(mutated(seeds, n=10_000, seed=7))   # bytes, each one record
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from typing import Any

HOUR_MS = 3_600_000

STRINGS = [
    "", "x", "5", "123", "-0", "1e5", "true", "false", "null", "{x", "[1", "NaN", "Infinity",
    "a" * 64, "a" * 65, "é" * 64, "é" * 65, "😀" * 10, "line\nbreak", "tab\tin", "quote\"in",
    "back\\slash", "nul\u0000in", "US", "US-CA", "us-ca", "USA", "US-CAL1", "US\n",
    "ios", "IOS", "android", "ctv", "fridge", "impression", "click", "conversion", "view",
    "k1:0123456789abcdef0123456789abcdef", "K1:NOT-HEX", "k1:0123", "toolongid:0123456789abcdef0123456789abcdef",
    "0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E",
    "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5bd9cb469fa16570867728950e0000",
    "x" * 200, "x" * 4097, "203.0.113.0", "2001:db8::", " ", "\u2028",
]  # fmt: skip
INTEGERS = [
    0, 1, -1, 2, 10, 11, 17, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**63,
    -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 10**30, -(10**30),
]  # fmt: skip
# Number tokens as text: what a parser must read exactly (JSON has no NaN or Infinity).
NUMBER_TEXTS = [
    "0.0", "-0.0", "-0", "1.5", "2.50", "1e2", "1E2", "1e-2", "0.1", "1e308", "1.7976931348623157e308",
    "1.8e308", "1e309", "1e-400", "4.9e-324", "123456789012345678901234567890.5", "1.0",
    "100000000000000000000", "-100000000000000000000", "9223372036854775807",
    "9223372036854775808", "18446744073709551615", "18446744073709551616", "1e19", "00", "01",
    "1.", ".5", "+1", "-", "NaN", "Infinity", "0x10",
]  # fmt: skip
LITERALS = ["true", "false", "null"]
STRUCTURES = [
    "{}", "[]", '{"a":1}', "[1,2]", '[{"a":[1,{"b":null}]}]', '{"ad_id":5}',
    "[" * 7 + "1" + "]" * 7, "[" * 8 + "1" + "]" * 8, "[" * 6 + "1" + "]" * 6,
    '{"a":' * 7 + "1" + "}" * 7, '{"a":' * 6 + "1" + "}" * 6,
]  # fmt: skip
ESCAPES = [
    r'"\u00e9"', r'"\ud83d\ude00"', r'"\ud800"', r'"\udc00"', r'"\ud800x"', r'"a\u0000b"',
    r'"\/"', r'"\x"', r'"\u12"', r'"\\ud800"', r'"\\\ud800"', '"raw\x01ctl"', '"raw\x7fdel"',
]  # fmt: skip


def token(rng: random.Random) -> str:
    """A random JSON value (or near-JSON text) as it would appear after a member's colon."""
    kind = rng.randrange(6)
    if kind == 0:
        return json.dumps(rng.choice(STRINGS), ensure_ascii=rng.random() < 0.5)
    if kind == 1:
        return str(rng.choice(INTEGERS))
    if kind == 2:
        return rng.choice(NUMBER_TEXTS)
    if kind == 3:
        return rng.choice(LITERALS)
    if kind == 4:
        return rng.choice(STRUCTURES)
    return rng.choice(ESCAPES)


class Record:
    """An event as an ordered list of (raw key text, raw value text): mutations work on the
    text, so that they can produce what a serializer never would."""

    def __init__(self, event: dict[str, Any]):
        self.members = [(json.dumps(k), json.dumps(v)) for k, v in event.items()]
        self.tail = ""

    def text(self) -> str:
        return "{" + ",".join(f"{k}:{v}" for k, v in self.members) + "}" + self.tail


def _member(rng: random.Random, r: Record) -> int:
    return rng.randrange(len(r.members)) if r.members else 0


def mutate(rng: random.Random, r: Record) -> bytes | None:
    """Applies one mutation; returns final bytes for the byte-level ones (which end mutating)."""
    m = rng.randrange(14)
    i = _member(rng, r)
    if not r.members:
        m = 4
    if m <= 3:  # a member's value of another type or range (the most common fault)
        r.members[i] = (r.members[i][0], token(rng))
    elif m == 4:
        r.members.insert(i, (json.dumps(rng.choice(["extra", "Ad_id", "user", ""])), token(rng)))
    elif m == 5:
        del r.members[i]
    elif m == 6:  # repeated, same or another value
        k, v = r.members[i]
        r.members.insert(
            rng.randrange(len(r.members) + 1), (k, v if rng.random() < 0.5 else token(rng))
        )
    elif m == 7:  # the key with an escape that reads the same, or a case change
        k = json.loads(r.members[i][0])
        key = "".join(f"\\u{ord(c):04x}" if c == "_" else c for c in k) if "_" in k else k.upper()
        r.members[i] = (f'"{key}"', r.members[i][1])
    elif m == 8:
        r.members.insert(i, r.members.pop(_member(rng, r)))  # reordered: still valid
    elif m == 9:
        r.tail = rng.choice(
            [" ", "\n", " \r\n\t", "x", "}", "]", ",", "{}", "\x00", " 1", "\ufeff"]
        )
    elif m == 10:  # the whole record wrapped or replaced
        text = r.text()
        return rng.choice(
            [f"[{text}]", f'{{"e":{text}}}', "", "null", "1", f"\ufeff{text}"]
        ).encode()
    elif m == 11:  # truncated
        data = r.text().encode()
        return data[: rng.randrange(len(data))]
    elif m == 12:  # a byte flipped, inserted or deleted
        data = bytearray(r.text().encode())
        at = rng.randrange(len(data))
        op = rng.randrange(3)
        if op == 0:
            data[at] = rng.randrange(256)
        elif op == 1:
            data.insert(at, rng.choice([0, 0x0A, 0x22, 0x5C, 0x7B, 0x7D, 0x80, 0xC3, 0xFF]))
        else:
            del data[at]
        return bytes(data)
    else:  # whitespace between tokens: still valid
        k, v = r.members[i]
        r.members[i] = (rng.choice([" ", "\n", "\t", ""]) + k + rng.choice([" ", "\r\n"]), " " + v)
    return None


def mutated(
    seeds: list[dict[str, Any]], n: int, seed: int = 7, valid_share: float = 0.1
) -> Iterator[bytes]:
    """n records: about valid_share of them unchanged seeds, the rest with 1-3 mutations."""
    rng = random.Random(seed)
    for k in range(n):
        r = Record(seeds[k % len(seeds)])
        if rng.random() < valid_share:
            yield r.text().encode()
            continue
        out = None
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            out = mutate(rng, r)
            if out is not None:
                break
        yield out if out is not None else r.text().encode()


def seeds_from(values: Iterable[bytes | str], now_ms: int) -> list[dict[str, Any]]:
    """Valid events to mutate, from a topic's values: their times moved to the last hour, so
    that none is near the future limit (a mutated time is either such a time or far off)."""
    out = []
    for v in values:
        e = json.loads(v)
        e["event_time"] = now_ms - HOUR_MS + (e["event_time"] % HOUR_MS)
        out.append(e)
    return out
