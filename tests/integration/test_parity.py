"""Training/serving parity on real events: the rows `adsx serve` scores for requests (logged on
ad.serves) equal, feature by feature, the rows the training-set job builds for the impressions
those requests became. Generated events are streamed into Redis and archived to the lake, the
daily job and materialization run for the day before, then users with personalisation consent
ask /rank_ads after the last event; each winner becomes an impression event at the request's
time with the request's id, the lake archives it, and adsx_jobs.training_set builds its row.
Counts must be equal exactly, other numbers to 1e-9, categorical values as text; a feature
missing on one side must be missing on the other."""

import datetime as dt
import json
import math
import os
import subprocess
import uuid

import duckdb
import pytest
from conftest import (
    BOOTSTRAP,
    Service,
    consume,
    delete_topic,
    drop_lake_checkpoints,
    generated_and_streamed,
    personalised,
    psql,
    run_job,
    trained_registry,
)

EVENTS = int(os.environ.get("ADSX_IT_PARITY_EVENTS", "15000"))
USERS = 25


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    env, events, topics = generated_and_streamed("it.parity", EVENTS, 57)
    topic = env["ADSX_KAFKA__EVENTS_TOPIC"]
    lake = tmp_path_factory.mktemp("parity") / "lake"
    env = dict(env, ADSX_LAKE__DIR=str(lake), ADSX_KAFKA__SERVES_TOPIC=topic + ".serves")
    try:
        run_job(env, "adsx_jobs.lake", "--topic", topic, "--available-now")
        newest = max(e["event_time"] for e in events)
        t = newest + 1000
        day = dt.datetime.fromtimestamp((t - 1) / 1000, dt.UTC).date()
        before = day - dt.timedelta(days=1)
        run_job(env, "adsx_jobs.daily", "--date", str(before))
        run_job(env, "adsx_jobs.materialize", "--date", str(before))
        registry = trained_registry(tmp_path_factory)
        svc = Service(dict(env, ADSX_MODELS__DIR=str(registry), ADSX_SERVE__HASH_CACHE_MS="0"))
        try:
            requests = ask(svc, events, t)
        finally:
            svc.stop()
        serves = {
            s["request_id"]: s
            for s in map(json.loads, consume(env["ADSX_KAFKA__SERVES_TOPIC"], None, "%s\n"))
        }
        impressions = impressions_of(events, requests, serves, t)
        produce(topic, impressions)
        run_job(env, "adsx_jobs.lake", "--topic", topic, "--available-now")
        run_job(env, "adsx_jobs.training_set", "--from", str(day), "--to", str(day),
                "--conversion-window-h", "0", "--click-window-min", "0", "--name", "parity")  # fmt: skip
        rows = training_rows(lake / "training" / "parity" / "data", impressions)
        yield {"serves": serves, "impressions": impressions, "rows": rows, "t": t}
    finally:
        for t_ in [*topics, env["ADSX_KAFKA__SERVES_TOPIC"]]:
            delete_topic(t_)
        # The lake job counted this world's spend: later suites start from an empty ledger.
        psql("TRUNCATE analytics_minute, analytics_batches")
        drop_lake_checkpoints(topic)


def ask(svc: Service, events: list[dict], t: int) -> list[dict]:
    """/rank_ads for users with personalisation consent, in their own device and geo."""
    users, out = {}, []
    for e in events:
        if personalised(e["consent"]) and e["event_type"] == "impression":
            users.setdefault(e["user_id"], e)
    for u, e in list(users.items())[:USERS]:
        body = {"user_id": u, "consent": e["consent"], "slots": 1,
                "context": {"device": e["device"], "geo": e["geo"], "placement": "feed", "time": t}}  # fmt: skip
        status, _, data = svc.request(
            "POST", "/rank_ads", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        r = json.loads(data)
        assert status == 200 and r["personalised"] and not r["degraded"], r
        if r["ranked_ads"]:
            out.append({"reply": r, "template": e})
    assert len(out) >= USERS // 2, "most requests were filled"
    return out


def impressions_of(events, requests, serves, t) -> list[dict]:
    campaign = {
        c: (a, float(b))
        for c, a, b in psql("SELECT campaign_id, advertiser_id, bid FROM campaigns")
    }
    out = []
    for r in requests:
        ad = r["reply"]["ranked_ads"][0]
        assert r["reply"]["request_id"] in serves
        advertiser, bid = campaign[str(ad["campaign_id"])]
        e = dict(r["template"], event_id=str(uuid.uuid4()), event_time=t, ad_id=ad["ad_id"],
                 campaign_id=ad["campaign_id"], advertiser_id=int(advertiser), bid=bid,
                 request_id=r["reply"]["request_id"], placement="feed", slot=1, price=0.0)  # fmt: skip
        out.append(e)
    return out


def produce(topic: str, impressions: list[dict]) -> None:
    lines = "".join(f"{e['user_id']}\t{json.dumps(e)}\n" for e in impressions)
    kcat = subprocess.run(["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-K", "\t"],
                          input=lines.encode(), capture_output=True, check=False)  # fmt: skip
    assert kcat.returncode == 0, kcat.stderr


def training_rows(data, impressions) -> dict[str, dict]:
    """The training set's rows of our impressions, by request id, with the categorical values
    made as adsx_ml.data makes them (slot and ids as text, hour_of_day, category)."""
    category = dict(psql("SELECT ad_id, creative_category FROM ads"))
    cur = duckdb.connect().execute(f"SELECT * FROM read_parquet('{data}/**/*.parquet')")
    names = [d[0] for d in cur.description]
    ids = {e["event_id"] for e in impressions}
    out = {}
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        if row["event_id"] not in ids:
            continue
        row["slot"] = str(row["slot"])
        row["hour_of_day"] = f"{row['event_time'] // 3_600_000 % 24:02d}"
        row["category"] = category[str(row["ad_id"])]
        row["ad_id"], row["campaign_id"] = str(row["ad_id"]), str(row["campaign_id"])
        out[row["request_id"]] = row
    return out


def test_every_impression_has_a_training_row(served):
    assert len(served["rows"]) == len(served["impressions"])


def test_served_rows_equal_training_rows(served):
    compared, differences, counted = 0, [], 0
    for request_id, train in served["rows"].items():
        logged = served["serves"][request_id]["rows"][0]
        for name, online in logged.items():
            offline = train[name]
            if offline is None or (isinstance(offline, float) and math.isnan(offline)):
                same = online is None
            elif isinstance(online, str) or online is None:
                same = online == offline
            else:
                same = math.isclose(online, float(offline), rel_tol=0, abs_tol=1e-9)
            compared += 1
            counted += isinstance(online, (int, float)) and online not in (0, None)
            if not same:
                differences.append((request_id, name, online, offline))
    assert compared > 0 and not differences, (sorted({d[1] for d in differences}), differences[:10])
    assert counted > len(served["rows"]), "the rows hold non-zero features, not only blanks"


def test_the_rows_cover_every_feature_group(served):
    """Parity on blanks proves nothing: the logged rows must hold stream counts of ads and
    users, user recency and materialized batch features somewhere."""
    rows = [served["serves"][r]["rows"][0] for r in served["rows"]]

    def some(prefix: str) -> bool:
        return any(
            v not in (None, 0) for row in rows for k, v in row.items() if k.startswith(prefix)
        )

    for group in ("stream_ad_", "stream_user_", "stream_user_seconds_since", "batch_ad_",
                  "batch_user_", "batch_campaign_"):  # fmt: skip
        assert some(group), group
