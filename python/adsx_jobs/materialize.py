"""Materialization (issue #5): a day's batch features into the online store, so serving reads
them with the streaming ones in one round trip.

  .venv/bin/python -m adsx_jobs.materialize --date 2026-11-25

Each view's row goes into its entity's hash (DESIGN §4: one hash per entity) as fields
`b.<feature>` plus `b.asof` (the end of D, ms): user -> u:{user}, ad -> a:{ad}, campaign ->
c:{campaign}; the slices ad_device and ad_geo -> a:{ad} as `b.d:{device}:<feature>` and
`b.g:{geo}:<feature>`. A write is applied only when the hash's `b.asof` (per slice:
`b.d:{device}:asof`) is older than the new one: re-running an older date never overwrites newer
features. `adsx stream` never touches `b.*` fields; the key's TTL is refreshed as the stream
does ([stream] ttl_hours). Erased users (adsx_jobs.privacy) are skipped: features computed
before an erasure do not bring them back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time

from adsx_jobs import config as adsx_config
from adsx_jobs import contracts, privacy, store
from adsx_jobs.spark import session

# KEYS[1] the entity hash; ARGV[1] the as-of field, ARGV[2] the new as-of, ARGV[3] the TTL,
# then field, value pairs. Applied only when the stored as-of is older.
NEWER_ONLY = """
local held = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '-1')
if held >= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], unpack(ARGV, 4))
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# Key and field names: schemas/online_store.json, which the stream engine reads too.
_KEYS, _FIELDS = contracts.online_store()["keys"], contracts.online_store()["fields"]
_B = _FIELDS["batch"]
# view -> (key of a row, field prefix of a row, columns that are keys rather than features)
LAYOUT = {
    "user": (lambda r: f"{_KEYS['user']}{r['user_id']}", lambda r: _B, {"user_id"}),
    "ad": (lambda r: f"{_KEYS['ad']}{r['ad_id']}", lambda r: _B, {"ad_id", "campaign_id"}),
    "campaign": (lambda r: f"{_KEYS['campaign']}{r['campaign_id']}", lambda r: _B, {"campaign_id"}),
    "ad_device": (
        lambda r: f"{_KEYS['ad']}{r['ad_id']}",
        lambda r: f"{_B}{_FIELDS['device_slice']}{r['device']}:",
        {"ad_id", "device"},
    ),
    "ad_geo": (
        lambda r: f"{_KEYS['ad']}{r['ad_id']}",
        lambda r: f"{_B}{_FIELDS['geo_slice']}{r['geo']}:",
        {"ad_id", "geo"},
    ),
}


def value(v) -> str:
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def writer(redis_cfg: dict, view: str, ttl: int, applied, kept):
    key_of, prefix_of, keys = LAYOUT[view]
    cfg = {"redis": redis_cfg}

    def write_partition(rows) -> None:
        r = store.client(cfg)
        script = r.register_script(NEWER_ONLY)
        pipes = store.Pipelines(r)

        def flush() -> None:
            nonlocal pipes
            results = pipes.execute()
            pipes = store.Pipelines(r)
            applied.add(sum(results))
            kept.add(len(results) - sum(results))

        for n, row in enumerate(rows, 1):
            rec = row.asDict()
            prefix = prefix_of(rec)
            args = [f"{prefix}asof", rec["as_of_ms"], ttl]
            for c, v in rec.items():
                if c not in keys and c != "as_of_ms" and v is not None:
                    args += [f"{prefix}{c}", value(v)]
            key = store.name(cfg, key_of(rec))
            script(keys=[key], args=args, client=pipes.for_key(key))
            if n % 5000 == 0:
                flush()
        flush()
        r.close()

    return write_partition


def materialize(spark, cfg, lake: str, day: dt.date) -> dict[str, dict[str, int]]:
    ttl = cfg["stream"]["ttl_hours"] * 3600
    erased = privacy.suppressed(cfg)  # features computed before an erasure stay out of u:{user}
    out = {}
    for view in LAYOUT:
        df = spark.read.parquet(f"{lake}/features/{view}/date={day.isoformat()}")
        if view == "user":
            df = privacy.keep_personal(df, erased)
        applied, kept = spark.sparkContext.accumulator(0), spark.sparkContext.accumulator(0)
        df.foreachPartition(writer(dict(cfg["redis"]), view, ttl, applied, kept))
        out[view] = {"applied": applied.value, "kept_newer": kept.value}
        print(json.dumps({"progress": "materialize", "view": view, **out[view]}), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    cfg = adsx_config.load()
    ap = argparse.ArgumentParser(
        prog="adsx_jobs.materialize", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    ap.add_argument("--date", required=True, type=dt.date.fromisoformat)
    ap.add_argument("--lake", help="default: [lake] dir")
    args = ap.parse_args(argv)
    lake = args.lake or cfg.location("lake", "dir")
    started = time.monotonic()
    spark = session(cfg, "adsx-materialize")
    views = materialize(spark, cfg, lake, args.date)
    spark.stop()
    print(
        json.dumps(
            {
                "summary": "materialize",
                "date": args.date.isoformat(),
                "views": views,
                "wall_s": time.monotonic() - started,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
