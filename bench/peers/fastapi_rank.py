"""The brief's serving stack, as bench/serve.py's peer: FastAPI + redis-py + xgboost serving the
same POST /rank_ads on the same Redis, catalog and model as `adsx serve`, written the way the
brief's FastAPI service would be (pydantic request, a redis-py pipeline, numpy rows, the
model's xgboost Booster through adsx_ml.model). It does the same work per request: targeting
and flight checks, one pipelined read of the user's, ads' and campaigns' hashes, the windows of
schemas/model_row.json from the tiles, frequency caps, scoring every candidate, one ad per
campaign, second-price auction. Not a product: a fair baseline.

  PEER_MODEL=/path/registry/ctr/3 uvicorn --app-dir bench/peers fastapi_rank:app --port 8090
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import psycopg
import redis
from fastapi import FastAPI
from pydantic import BaseModel

from adsx_ml.model import Model

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
PRIOR_CTR, PRIOR_WEIGHT = 0.015, 200

model = Model.load(Path(os.environ["PEER_MODEL"]))
spec = model.spec
pool = redis.ConnectionPool(
    host=os.environ.get("ADSX_REDIS__HOST", "127.0.0.1"),
    port=int(os.environ.get("ADSX_REDIS__PORT", "6379")),
)


def load_catalog():
    with psycopg.connect("host=127.0.0.1 user=adsx dbname=adstreamx") as conn:
        campaigns = {
            r[0]: {
                "kind": r[1],
                "bid": float(r[2]),
                "start": r[3],
                "end": r[4],
                "priority": r[5],
                "cap": r[6],
                "geos": set(r[7]),
                "devices": set(r[8]),
            }  # fmt: skip
            for r in conn.execute(
                "SELECT campaign_id, bid_type, bid,"
                " (extract(epoch FROM flight_start::timestamp AT TIME ZONE 'UTC') * 1000)::bigint,"
                " (extract(epoch FROM flight_end::timestamp AT TIME ZONE 'UTC') * 1000)::bigint,"
                " priority, frequency_cap, target_geos, target_devices FROM campaigns"
            )
        }
        ads = {r[0]: {"campaign": r[1], "category": r[2]}
               for r in conn.execute("SELECT ad_id, campaign_id, creative_category FROM ads")}  # fmt: skip
    return campaigns, ads


CAMPAIGNS, ADS = load_catalog()
app = FastAPI()


class Context(BaseModel):
    device: str
    geo: str
    placement: str
    time: int | None = None


class RankRequest(BaseModel):
    user_id: str
    consent: str | None = None
    context: Context
    slots: int = 1
    candidate_ids: list[int] | None = None


def tiles(h: dict, prefix: bytes, slots: int) -> list[tuple[int, int, int]]:
    out = []
    for s in range(slots):
        v = h.get(prefix + str(s).encode())
        if v:
            t, i, c, _ = v.split(b":")
            out.append((int(t), int(i), int(c)))
    return out


def blocks(h: dict, prefix: bytes, ring: int) -> list[tuple[int, int, int]]:
    out = []
    for p in range(ring):
        v = h.get(prefix + str(p).encode())
        if v:
            for part in v.split(b","):
                t, i, c, _ = part.split(b":")
                out.append((int(t), int(i), int(c)))
    return out


def window(ts, t: int, width: int, n: int) -> tuple[int, int]:
    last = t // width
    imp = clk = 0
    for tile, i, c in ts:
        if last - n < tile <= last:
            imp += i
            clk += c
    return imp, clk


BATCH = []  # (feature, hash: "user" | "ad" | "campaign", slice: "" | "d" | "g", column)
for _n in spec.numeric:
    for _view, _hash, _slice in (("ad_device", "ad", "d"), ("ad_geo", "ad", "g"),
                                 ("campaign", "campaign", ""), ("user", "user", ""),
                                 ("ad", "ad", "")):  # fmt: skip
        if _n.name.startswith(f"batch_{_view}_"):
            BATCH.append((_n.name, _hash, _slice, _n.name[len(f"batch_{_view}_") :]))
            break


def batch_value(h: dict | None, prefix: str, column: str, day_end: int) -> float:
    if not h or h.get(f"{prefix}asof".encode()) != str(day_end).encode():
        return np.nan
    v = h.get(f"{prefix}{column}".encode())
    return float(v) if v is not None else np.nan


def personalised(consent: str | None) -> bool:
    import base64

    if not consent:
        return False
    try:
        core = consent.split(".")[0]
        bits = "".join(f"{b:08b}" for b in base64.urlsafe_b64decode(core + "=" * (-len(core) % 4)))
        return bits[152] == bits[154] == bits[155] == "1"
    except (ValueError, IndexError):
        return False


@app.post("/rank_ads")
def rank_ads(req: RankRequest):
    t = req.context.time or int(time.time() * 1000)
    ids = req.candidate_ids or list(ADS)
    cands = []
    for a in ids:
        ad = ADS.get(a)
        if not ad:
            continue
        c = CAMPAIGNS[ad["campaign"]]
        if (req.context.geo in c["geos"] and req.context.device in c["devices"]
                and c["start"] <= t < c["end"]):  # fmt: skip
            cands.append(a)
    personal = personalised(req.consent)
    r = redis.Redis(connection_pool=pool)
    pipe = r.pipeline(transaction=False)
    if personal:
        pipe.hgetall(f"u:{req.user_id}")
    for a in cands:
        pipe.hgetall(f"a:{a}")
        pipe.hgetall(f"c:{ADS[a]['campaign']}")
    got = pipe.execute()
    user = got[0] if personal else None
    rows = {n.name: np.full(len(cands), np.nan) for n in spec.numeric}
    cats = {c.name: [None] * len(cands) for c in spec.categorical}
    user_hours = blocks(user, b"hb", 6) if user else []
    keep = []
    for k, a in enumerate(cands):
        ah = got[(1 if personal else 0) + 2 * k]
        camp = CAMPAIGNS[ADS[a]["campaign"]]
        minutes = tiles(ah, b"m", 60)
        for name, n in (("stream_ad_5m", 5), ("stream_ad_1h", 60)):
            imp, clk = window(minutes, t, MINUTE, n)
            if f"{name}_impressions" in rows:
                rows[f"{name}_impressions"][k] = imp
            if f"{name}_clicks" in rows:
                rows[f"{name}_clicks"][k] = clk
        if user is not None:
            for name, n in (("stream_user_1h", 1), ("stream_user_24h", 24)):
                imp, clk = window(user_hours, t, HOUR, n)
                if f"{name}_impressions" in rows:
                    rows[f"{name}_impressions"][k] = imp
                    rows[f"{name}_clicks"][k] = clk
            field = user.get(f"c{ADS[a]['campaign']}".encode())
            if field:
                hours = [
                    p.split(b":") for p in field.split(b"|")[1].split(b",") if p.count(b":") == 3
                ]
                seen = sum(int(i) for tl, i, _, _ in hours if t // HOUR - 24 < int(tl) <= t // HOUR)
                if seen >= camp["cap"]:
                    continue
        day_end = (t - 1) // DAY * DAY
        ch = got[(1 if personal else 0) + 2 * k + 1]
        for name, which, slc, column in BATCH:
            h = {"ad": ah, "campaign": ch, "user": user}[which]
            prefix = "b." + (f"d:{req.context.device}:" if slc == "d" else
                             f"g:{req.context.geo}:" if slc == "g" else "")  # fmt: skip
            rows[name][k] = batch_value(h, prefix, column, day_end)
        if user is not None and user.get(b"own"):
            li, lc = (int(x) for x in user[b"own"].split(b":")[:2])
            for name, last in (("stream_user_seconds_since_impression", li),
                               ("stream_user_seconds_since_click", lc)):  # fmt: skip
                if name in rows and 0 < last < t:
                    rows[name][k] = (t - last) / 1000
        if "bid" in rows:
            rows["bid"][k] = camp["bid"]
        for name, v in (("device", req.context.device), ("geo", req.context.geo),
                        ("placement", req.context.placement), ("slot", "1"),
                        ("hour_of_day", f"{t // HOUR % 24:02d}"),
                        ("category", ADS[a]["category"]), ("ad_id", str(a)),
                        ("campaign_id", str(ADS[a]["campaign"]))):  # fmt: skip
            if name in cats:
                cats[name][k] = v
        keep.append(k)
    table = {**rows, **{n: np.array(v, dtype=object) for n, v in cats.items()}}
    p = model.predict(table) if cands else np.array([])
    best: dict[int, tuple[float, int]] = {}
    for k in keep:
        a = cands[k]
        camp = CAMPAIGNS[ADS[a]["campaign"]]
        ecpm = camp["bid"] if camp["kind"] == "CPM" else camp["bid"] * p[k] * 1000
        if ecpm > best.get(ADS[a]["campaign"], (-1.0, 0))[0]:
            best[ADS[a]["campaign"]] = (ecpm, k)
    ranked = sorted(
        best.values(), key=lambda e: (CAMPAIGNS[ADS[cands[e[1]]]["campaign"]]["priority"], -e[0])
    )
    out = []
    for s, (ecpm, k) in enumerate(ranked[: req.slots]):
        nxt = ranked[s + 1][0] if s + 1 < len(ranked) else 0.0
        out.append({"ad_id": cands[k], "campaign_id": ADS[cands[k]]["campaign"], "slot": s + 1,
                    "score": float(p[k]), "ecpm": ecpm, "price_ecpm": min(nxt, ecpm)})  # fmt: skip
    return {"user_id": req.user_id, "ranked_ads": out}
