"""`adsx stream` against the real stack: after a generated run (with malformed records), the
Redis features equal an independent recomputation from the same records read back with kcat,
exactly; every bad record is in the dead-letter topic with the right reason; processed +
dead-lettered = produced. The reference below re-implements the engine's rules from their
description (src/adsx/features/engine.h, tiles.h, update.h), not from its code."""

import json
import os
import re
import subprocess
import time
import uuid
from collections import Counter, defaultdict

import jsonschema
import pytest
import redis
from conftest import (
    BOOTSTRAP,
    SOURCE_DIR,
    catalog_ad_ids,
    consume,
    delete_topic,
    kafka_tool,
    personalised,
    run_adsx,
    stream_env,
)

SCHEMA = json.loads((SOURCE_DIR / "schemas" / "ad_event.schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
EVENTS = int(os.environ.get("ADSX_IT_STREAM_EVENTS", "100000"))
LATENESS_MS = 300_000
TILES = {"m": (60_000, 60), "h": (3_600_000, 26)}
TTL_MS = 48 * 3_600_000  # stream.ttl_hours
# A click follows an impression of its request, a conversion a click of it: within these
# windows (stream.click_window_s, conversion_window_s), rounded out to minutes and hours.
FOLLOWS = {
    "click": ("impression", 3_600_000, 60_000),
    "conversion": ("click", 86_400_000, 3_600_000),
}
TYPES = ("impression", "click", "conversion")


class Reference:
    def __init__(self, ads: set[int], now_ms: int):
        self.ads, self.now = ads, now_ms
        self.tiles = defaultdict(lambda: defaultdict(Counter))  # key -> (p, tile) -> counts
        self.maxes = defaultdict(dict)
        self.campaigns = defaultdict(lambda: defaultdict(list))  # user key -> campaign -> events
        self.own = defaultdict(list)  # user key -> (time, type) of each event
        self.dead = Counter()
        self.applied = 0

    def reject(self, key: str, e: dict, wm: list[int], seen: dict) -> str | None:
        if e["event_time"] > self.now + 300_000:
            return "future_timestamp"
        if e["event_type"] != "conversion" and e["revenue"] != 0:
            return "invalid_value"
        if key != e["user_id"]:
            return "wrong_key"
        if e["ad_id"] not in self.ads:
            return "unknown_ad"
        if wm[0] > 0 and e["event_time"] < wm[0] - LATENESS_MS:
            return "late"
        wm[0] = max(wm[0], e["event_time"])
        if e["event_type"] in FOLLOWS:
            kind, window, width = FOLLOWS[e["event_type"]]
            t = e["event_time"]
            buckets = {u // width for u in seen[kind].get(e["request_id"], ())}
            if not any((t - window) // width <= b <= t // width for b in buckets):
                return "orphan_event"
        return None

    def partition(self, records: list[tuple[str, str]]) -> None:
        wm = [0]
        seen = {"impression": defaultdict(list), "click": defaultdict(list)}  # request -> times
        for key, value in records:
            try:
                e = json.loads(value)
                VALIDATOR.validate(e)
            except (json.JSONDecodeError, jsonschema.ValidationError):
                self.dead["schema"] += 1
                continue
            why = self.reject(key, e, wm, seen)
            if why:
                self.dead[why] += 1
                continue
            if e["event_type"] in seen:
                seen[e["event_type"]][e["request_id"]].append(e["event_time"])
            self.apply(e)

    def tile(self, key: str, p: str, e: dict, dim: str = "") -> None:
        width, _ = TILES[p]
        self.tiles[key][(dim, p, e["event_time"] // width)][e["event_type"]] += 1

    def keep_max(self, key: str, field: str, t: int) -> None:
        self.maxes[key][field] = max(self.maxes[key].get(field, -1), t)

    def apply(self, e: dict) -> None:
        self.applied += 1
        t, ad, typ = e["event_time"], e["ad_id"], e["event_type"]
        a = f"a:{ad}"
        for dim in ("", f"d:{e['device']}:", f"g:{e['geo']}:"):
            self.tile(a, "m", e, dim)
        self.keep_max(a, "asof", t)
        c = f"c:{e['campaign_id']}"
        self.tile(c, "m", e)
        self.tile(c, "h", e)
        self.keep_max(c, "asof", t)
        if not personalised(e["consent"]):
            return
        u = f"u:{e['user_id']}"
        self.keep_max(u, "asof", t)  # the user's newest event (in `own`, not a field of its own)
        self.own[u].append((t, typ))
        self.campaigns[u][e["campaign_id"]].append((t, ad, typ))

    def user_fields(self, key: str) -> dict[str, str]:
        """A user's fields (user_state.h). `own`: the newest time by type. Tile blocks `mb{p}`
        (10 minutes each, 7 fields) and `hb{p}` (6 hours, 6 fields): per field, the newest block
        of the user's events that falls in it, with all its tiles. Per campaign: campaigns the
        user left for more than 2 × TTL are gone; of the others, the hour tiles within 26 of the
        newest and the recency within TTL of the newest, by type, for the campaign and each
        ad."""
        newest_user = self.maxes[key]["asof"]
        out = {}
        for c, evs in sorted(self.campaigns[key].items()):
            newest = max(t for t, _, _ in evs)
            if newest < newest_user - 2 * TTL_MS:
                continue
            width, slots = TILES["h"]
            hours = defaultdict(Counter)
            last, ads = [0, 0, 0], defaultdict(lambda: [0, 0, 0])
            for t, ad, typ in evs:
                if t // width > newest // width - slots:
                    hours[t // width][typ] += 1
                if t > newest - TTL_MS:
                    k = TYPES.index(typ)
                    last[k] = max(last[k], t)
                    ads[ad][k] = max(ads[ad][k], t)
            tiles = ",".join(
                f"{h}:{n['impression']}:{n['click']}:{n['conversion']}"
                for h, n in sorted(hours.items())
            )
            per_ad = ",".join(f"{a}:{x[0]}:{x[1]}:{x[2]}" for a, x in sorted(ads.items()))
            out[f"c{c}"] = f"{last[0]}:{last[1]}:{last[2]}|{tiles}|{per_ad}"
        evs = self.own[key]
        last = [max((t for t, x in evs if x == typ), default=0) for typ in TYPES]

        for p, per_block, ring in (("m", 10, 7), ("h", 6, 6)):
            width = TILES[p][0]
            newest = {}  # field -> the newest block in it
            for t, _ in evs:
                block = t // width // per_block
                field = f"{p}b{block % ring}"
                newest[field] = max(newest.get(field, block), block)
            for field, block in newest.items():
                n = defaultdict(Counter)
                for t, typ in evs:
                    if t // width // per_block == block:
                        n[t // width][typ] += 1
                out[field] = ",".join(
                    f"{k}:{c['impression']}:{c['click']}:{c['conversion']}"
                    for k, c in sorted(n.items())
                )
        out["own"] = f"{last[0]}:{last[1]}:{last[2]}"
        return out

    def expected_hash(self, key: str) -> dict[str, str]:
        """The hash the tile-ring rule leaves: per slot, the newest tile and all its counts."""
        if key.startswith("u:"):
            return self.user_fields(key)
        out = {f: str(v) for f, v in self.maxes[key].items()}
        newest = {}
        for dim, p, tile in self.tiles[key]:
            slot = f"{dim}{p}{tile % TILES[p][1]}"
            newest[slot] = max(newest.get(slot, (dim, p, -1)), (dim, p, tile))
        for slot, (dim, p, tile) in newest.items():
            c = self.tiles[key][(dim, p, tile)]
            out[slot] = f"{tile}:{c['impression']}:{c['click']}:{c['conversion']}"
        return out


@pytest.fixture
def names():
    suffix = uuid.uuid4().hex[:8]
    n = {"topic": f"it.stream.{suffix}", "dlq": f"it.stream.dlq.{suffix}", "group": f"it-{suffix}"}
    yield n
    delete_topic(n["topic"])
    delete_topic(n["dlq"])


def test_features_equal_an_independent_recomputation_and_bad_records_are_dead_lettered(names):
    env = stream_env(names["topic"], names["dlq"], names["group"])
    r = redis.Redis(host="127.0.0.1", port=int(os.environ.get("ADSX_REDIS__PORT", "6379")))
    r.flushdb()
    gen = run_adsx(
        "generate",
        "--events",
        str(EVENTS),
        "--malformed-rate",
        "0.02",
        "--seed",
        "12",
        env=env,
        timeout=600,
    )
    assert gen.returncode == 0, gen.stderr[-2000:]
    kinds = dict(re.findall(r"(\w+)=(\d+)", gen.stdout.split("malformed:")[1].splitlines()[0]))

    # One valid record produced again under a key that is not its user (another producer
    # breaking the contract): it must be dead-lettered as wrong_key, not counted.
    valid = next(v for v in consume(names["topic"], 200, "%s\n") if '"impression"' in v)
    kcat = subprocess.run(
        ["kcat", "-P", "-b", BOOTSTRAP, "-t", names["topic"], "-K", "\t"],
        input=f"not-the-user\t{valid}\n".encode(),
        capture_output=True,
        check=False,
    )
    assert kcat.returncode == 0, kcat.stderr

    stream = run_adsx("stream", "--until-idle", "5", env=env, timeout=900)
    assert stream.returncode == 0, stream.stdout + stream.stderr[-3000:]
    applied, dead = map(
        int, re.search(r"(\d+) applied, (\d+) dead-lettered", stream.stdout).groups()
    )
    assert applied + dead == EVENTS + 1  # processed + dead-lettered = produced
    # The broker's own tool sees the worker caught up: the offsets it reports to the group (for
    # monitoring; it resumes from Redis's) are every partition's end, lag 0.
    described = kafka_tool(
        "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
        "--bootstrap-server", BOOTSTRAP, "--describe", "--group", names["group"],
    )  # fmt: skip
    rows = [line.split() for line in described.splitlines() if names["topic"] in line.split()]
    assert len(rows) == 12, described  # [kafka] events_partitions
    for _group, _topic, _partition, current, end, lag, *_ in rows:
        assert (current, lag) == (end, "0"), described

    ref = Reference(catalog_ad_ids(), int(time.time() * 1000))
    by_partition = defaultdict(list)
    for row in consume(names["topic"]):
        p, o, key, value = row.split("\t", 3)
        by_partition[int(p)].append((int(o), key, value))
    for records in by_partition.values():
        ref.partition([(k, v) for _, k, v in sorted(records)])

    assert ref.applied == applied
    assert sum(ref.dead.values()) == dead
    # Every bad record in the DLQ with its reason and source.
    letters = [json.loads(x) for x in consume(names["dlq"], fmt="%s\n")]
    assert len(letters) == dead
    reasons = Counter(d["reason"] for d in letters)
    assert reasons["orphan_event"] == ref.dead["orphan_event"] == int(kinds["orphan_click"])
    assert (
        reasons["future_timestamp"]
        == ref.dead["future_timestamp"]
        == int(kinds["future_timestamp"])
    )
    assert reasons["negative_amount"] == int(kinds["negative_revenue"])
    assert reasons["malformed_json"] == int(kinds["truncated_json"])
    assert reasons["wrong_type"] == int(kinds["wrong_type"])
    assert reasons["missing_field"] == int(kinds["missing_field"])
    assert reasons["unknown_event_type"] == int(kinds["unknown_event_type"])
    assert reasons["wrong_key"] == ref.dead["wrong_key"] == 1
    assert all({"partition", "offset", "payload", "topic"} <= d.keys() for d in letters)

    # Every feature key, exactly.
    keys = sorted(ref.maxes)
    pipe = r.pipeline(transaction=False)
    for k in keys:
        pipe.hgetall(k)
    got = pipe.execute()
    mismatches = []
    for k, h in zip(keys, got, strict=True):
        actual = {f.decode(): v.decode() for f, v in h.items()}
        if actual != ref.expected_hash(k):
            mismatches.append(k)
    assert not mismatches, f"{len(mismatches)} of {len(keys)} keys differ, e.g. {mismatches[:3]}"
    assert all(r.ttl(k) > 0 for k in keys[:1000])
    redis_keys = {
        k.decode()
        for k in r.scan_iter(count=10_000)
        if not k.startswith((b"rq:", b"off:", b"adsx:"))
    }
    assert redis_keys == set(keys), "no key the reference does not expect, none missing"

    # `adsx features user` reads a user's features as of the user's newest event.
    user = max((k for k in keys if k.startswith("u:")), key=lambda k: len(ref.own[k]))
    shown = run_adsx("features", "user", user[2:], env=env, timeout=60)
    assert shown.returncode == 0, shown.stderr
    f = json.loads(shown.stdout)
    newest = ref.maxes[user]["asof"]
    assert f["as_of"] == newest
    assert f["last_24h"]["impressions"] == sum(
        1
        for t, typ in ref.own[user]
        if typ == "impression" and t // 3_600_000 > newest // 3_600_000 - 24  # hour tiles
    )
