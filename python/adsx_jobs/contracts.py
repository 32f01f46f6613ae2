"""Contracts the Python jobs share with the C++ side, read from the one file each under
schemas/ (the C++ build generates its constants from the same files):

  online_store()   schemas/online_store.json: Redis key and field names, the tile rule's widths,
                   the smoothed-CTR prior, the request logs' buckets, the consent purposes

  model_row()      schemas/model_row.json: the features a model's row may name (windows, recency,
                   batch views), built from the same definition here and by serving

  layout = online_store()
  layout["keys"]["user"]            # "u:"
  stored_key("a:42", cluster=True)  # "{13}a:42": its name on Redis Cluster
  smoothed_ctr(clicks, impressions) # a Spark column, the prior as online
"""

from __future__ import annotations

import base64
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("ADSX_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SCHEMAS = ROOT / "schemas"


@cache
def online_store() -> dict[str, Any]:
    with open(SCHEMAS / "online_store.json") as f:
        return json.load(f)


@cache
def shard_tags() -> tuple[str, ...]:
    """Each shard's hash tag on Redis Cluster, braces included (online_store.json, "cluster"):
    the smallest number whose slot falls in the shard's part of the 16384 slots."""
    from redis.crc import key_slot

    shards = int(online_store()["cluster"]["shards"])
    tags: list[str | None] = [None] * shards
    n = 0
    while None in tags:
        shard = key_slot(str(n).encode()) * shards // 16384
        if tags[shard] is None:
            tags[shard] = "{" + str(n) + "}"
        n += 1
    return tuple(t for t in tags if t)


def stored_key(key: str, cluster: bool) -> str:
    """The name `key` (u:…, a:…, c:…) is stored under: itself on one server, under the tag of
    its shard (by its own slot) on Redis Cluster, as redis/keys.h's in_shard."""
    if not cluster:
        return key
    from redis.crc import key_slot

    tags = shard_tags()
    return tags[key_slot(key.encode()) * len(tags) // 16384] + key


def logical_key(stored: str) -> str:
    """A stored name without its hash tag (the inverse of stored_key)."""
    return stored[stored.index("}") + 1 :] if stored.startswith("{") else stored


@cache
def model_row() -> dict[str, Any]:
    with open(SCHEMAS / "model_row.json") as f:
        return json.load(f)


def entity_windows(entity: str) -> tuple[list[str], int, dict[str, int]]:
    """The windows of model_row.json counting events of `entity`: its key columns, the tile
    width they share, and {window name: tiles}."""
    m = model_row()
    spans = {n: w for n, w in m["windows"].items() if n != "description" and w["entity"] == entity}
    tiles = {w["tile"] for w in spans.values()}
    if len(tiles) != 1:
        raise ValueError(f"model_row.json: the windows of {entity} must share one tile width")
    return (
        list(m["entities"][entity]["keys"]),
        tile_width_ms(tiles.pop()),
        {n: int(w["tiles"]) for n, w in spans.items()},
    )


def row_feature_defined(name: str) -> bool:
    """Whether model_row.json defines a feature of this name (what serving can build)."""
    m = model_row()

    def named(section: str) -> list[str]:
        return [n for n in m[section] if n != "description"]

    return (
        any(name in (f"{w}_impressions", f"{w}_clicks") for w in named("windows"))
        or name in named("recency")
        or any(name.startswith(f"batch_{v}_") for v in named("batch_views"))
        or name in m["request"]["names"]
        or name in m["catalog"]["names"]
    )


def tile_width_ms(granularity: str) -> int:
    """The width of a "minute" or "hour" tile (the tile rule, src/adsx/features/tiles.h)."""
    return int(online_store()["tiles"][granularity]["width_ms"])


def ctr_prior() -> tuple[float, float]:
    """(prior CTR, prior weight) of every smoothed CTR, online and offline."""
    p = online_store()["smoothed_ctr"]
    return float(p["prior_ctr"]), float(p["prior_weight"])


def smoothed_ctr(clicks, impressions):
    """(clicks + prior_ctr · weight) / (impressions + weight), as Spark columns."""
    from pyspark.sql import functions as F

    prior, weight = ctr_prior()
    return (clicks + F.lit(prior * weight)) / (impressions + F.lit(weight))


def personalisation_mask() -> tuple[int, int]:
    """(byte index, mask) of the PurposesConsent bits that allow personalisation in a TCF v2
    core string's bytes: PurposesConsent starts at bit 152 of the core, purpose p at bit
    152 + p − 1 (most significant bit first). The purposes must share one byte."""
    bits = [152 + p - 1 for p in online_store()["consent"]["personalisation_purposes"]]
    byte = bits[0] // 8
    if any(b // 8 != byte for b in bits):
        raise ValueError("personalisation purposes span bytes; personalised() reads one")
    return byte, sum(0x80 >> (b % 8) for b in bits)


def personalised(consent: str) -> bool:
    """Whether a TCF v2 string allows personalisation, decoded in Python (the Spark jobs use
    events.personalised, a column over the same mask): for code outside Spark."""
    byte, mask = personalisation_mask()
    core = consent.split(".")[0]
    raw = base64.urlsafe_b64decode(core + "=" * (-len(core) % 4))
    return len(raw) > byte and raw[byte] & mask == mask
