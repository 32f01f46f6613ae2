"""POST /rank_ads on the real stack: events generated and streamed into Redis, the catalog in
PostgreSQL, ctr and cvr models trained by adsx_ml (on a training-set file whose rows are drawn
here) and registered, the serve log on Kafka. Proves that an ad is never served outside its
targeting or flight, that each served score is the model's score of the row logged on
ad.serves, that two instances on the same stores answer alike, that a user without consent gets
contextual ranking with no user key read (Redis MONITOR), that a capped user x campaign and an
exhausted budget are not served, that Redis down degrades instead of failing, and that bad
bodies get documented 4xx errors."""

import json
import os
import subprocess
import time
import uuid
from collections import Counter

import numpy as np
import pytest
from conftest import (
    ADSX_BIN,
    BOOTSTRAP,
    Service,
    check_schema,
    consume,
    delete_topic,
    free_port,
    generated_and_streamed,
    personalised,
    psql,
    redis_commands,
    trained_registry,
)

EVENTS = int(os.environ.get("ADSX_IT_RANK_EVENTS", "20000"))
HOUR = 3_600_000


@pytest.fixture(scope="module")
def world():
    env, events, topics = generated_and_streamed("it.rank", EVENTS, 33)
    yield env, events
    for t in topics:
        delete_topic(t)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return trained_registry(tmp_path_factory)


@pytest.fixture(scope="module")
def service(world, registry):
    env = dict(
        world[0],
        ADSX_MODELS__DIR=str(registry),
        ADSX_KAFKA__SERVES_TOPIC=world[0]["ADSX_KAFKA__EVENTS_TOPIC"] + ".serves",
        ADSX_SERVE__CATALOG_REFRESH_MS="200",
    )
    svc = Service(env)
    yield svc
    if svc.proc.poll() is None:
        svc.stop()
    delete_topic(env["ADSX_KAFKA__SERVES_TOPIC"])


def rank(svc: Service, body: dict):
    status, _, data = svc.request(
        "POST", "/rank_ads", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    return status, json.loads(data)


def campaigns() -> dict[int, dict]:
    rows = psql(
        "SELECT campaign_id, array_to_string(target_geos, ','), array_to_string(target_devices, ','),"
        " (extract(epoch FROM flight_start::timestamp AT TIME ZONE 'UTC') * 1000)::bigint,"
        " (extract(epoch FROM flight_end::timestamp AT TIME ZONE 'UTC') * 1000)::bigint,"
        " frequency_cap, daily_budget FROM campaigns"
    )
    return {
        int(r[0]): {
            "geos": set(r[1].split(",")),
            "devices": set(r[2].split(",")),
            "flight": (int(r[3]), int(r[4])),
            "cap": int(r[5]),
            "daily_budget": float(r[6]),
        }
        for r in rows
    }


def contexts(events):
    return Counter((e["device"], e["geo"]) for e in events).most_common(8)


def test_served_ads_respect_targeting_and_flights_and_the_schema(world, service, openapi_doc):
    _, events = world
    cs = campaigns()
    t = max(e["event_time"] for e in events) + 1
    served = 0
    for (device, geo), _ in contexts(events):
        for when in (t, t + 3 * 24 * HOUR):  # now, and three days on (some flights are over)
            body = {"user_id": events[0]["user_id"], "slots": 5,
                    "context": {"device": device, "geo": geo, "placement": "feed", "time": when}}  # fmt: skip
            status, r = rank(service, body)
            assert status == 200, r
            check_schema(openapi_doc, "/rank_ads", "post", 200, r)
            assert r["model"] and r["model"]["name"] == "ctr" and r["degraded"] == [], r
            assert len({a["campaign_id"] for a in r["ranked_ads"]}) == len(r["ranked_ads"])
            for a in r["ranked_ads"]:
                c = cs[a["campaign_id"]]
                assert geo in c["geos"] and device in c["devices"], (a, c)
                assert c["flight"][0] <= when < c["flight"][1], (a, c)
                served += 1
    assert served > 20


def test_each_served_score_is_the_models_score_of_the_logged_row(
    world, service, registry, tmp_path
):
    _, events = world
    users = [e["user_id"] for e in events if personalised(e["consent"])][:30]
    consent = next(e["consent"] for e in events if personalised(e["consent"]))
    t = max(e["event_time"] for e in events) + 1
    ids = set()
    for u in users:
        status, r = rank(service, {"user_id": u, "consent": consent, "slots": 3,
                                   "context": {"device": "ios", "geo": "US-CA",
                                               "placement": "sidebar", "time": t}})  # fmt: skip
        assert status == 200 and r["personalised"], r
        ids.add(r["request_id"])
    topic = service.env["ADSX_KAFKA__SERVES_TOPIC"]
    logged = [json.loads(v) for v in consume(topic, None, "%s\n")]
    mine = [s for s in logged if s["request_id"] in ids]
    assert len(mine) == len(ids)
    version = mine[0]["model"]["version"]
    rows, want = tmp_path / "rows.jsonl", []
    with open(rows, "w") as f:
        for s in mine:
            assert len(s["rows"]) == len(s["ranked_ads"])
            for row, ad in zip(s["rows"], s["ranked_ads"], strict=True):
                assert row["ad_id"] == str(ad["ad_id"]) and row["device"] == "ios"
                f.write(json.dumps(row) + "\n")
                want.append(ad["pctr"])
    assert want, "some ads were served"
    out = subprocess.run(
        [ADSX_BIN, "model", "score", "--model", str(registry / "ctr" / str(version)),
         "--rows", str(rows)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    got = [float(x) for x in out.stdout.split()]
    assert np.allclose(got, want, rtol=0, atol=1e-12), (got[:5], want[:5])
    # The rows carry the user's features (consent given): some user windows are counted.
    assert any(r["stream_user_24h_impressions"] for s in mine for r in s["rows"])


def without(reply, volatile=("request_id", "freshness_s")):
    """A reply without what differs between two answers to one question by design: the
    request's id and the wall-clock age of the newest event."""
    if isinstance(reply, dict):
        return {k: without(v, volatile) for k, v in reply.items() if k not in volatile}
    if isinstance(reply, list):
        return [without(v, volatile) for v in reply]
    return reply


def test_two_instances_behind_the_same_stores_answer_identically(world, service):
    """Horizontal scaling (#25): serve keeps no state of its own that changes an answer, so two
    instances on the same Redis, PostgreSQL and models give the same rankings, scores and
    features to the same requests, sent to both in turn."""
    _, events = world
    t = max(e["event_time"] for e in events) + 1
    other = Service(service.env)
    try:
        asked = ranked = 0
        for i, e in enumerate(events[:: max(1, len(events) // 40)]):
            body = {"user_id": e["user_id"], "consent": e["consent"], "slots": 4,
                    "context": {"device": e["device"], "geo": e["geo"],
                                "placement": ("feed", "sidebar")[i % 2], "time": t}}  # fmt: skip
            replies = [rank(svc, body) for svc in (service, other)]
            assert replies[0][0] == replies[1][0] == 200, replies
            assert without(replies[0][1]) == without(replies[1][1]), replies
            ranked += bool(replies[0][1]["ranked_ads"])
            for path in (f"/features/user/{e['user_id']}?as_of={t}",
                         f"/features/ad/{e['ad_id']}?as_of={t}"):  # fmt: skip
                got = [svc.get_json(path) for svc in (service, other)]
                assert got[0][0] == got[1][0] and without(got[0][2]) == without(got[1][2]), got
            asked += 1
        assert asked >= 30 and ranked >= asked // 2, (asked, ranked)
    finally:
        other.stop()


def test_without_consent_the_ranking_is_contextual_and_no_user_key_is_read(world, service):
    _, events = world
    user = events[0]["user_id"]
    refused = next(e["consent"] for e in events if not personalised(e["consent"]))
    ctx = {"device": "android", "geo": events[0]["geo"], "placement": "feed"}
    with redis_commands() as seen:
        for body in ({"user_id": user, "consent": refused, "context": ctx, "slots": 3},
                     {"user_id": user, "context": ctx, "slots": 3}):  # fmt: skip
            status, reply = rank(service, body)
            assert status == 200 and reply["personalised"] is False, reply
        # Ad hashes are shared and refreshed ahead of expiry (once per hash_cache_ms, 1 s), not
        # read by each request: within 1.2 s the store is seen read, and never a user key.
        time.sleep(1.2)
    assert any(c.startswith("HGETALL a:") for c in seen), seen[:20]
    assert not [c for c in seen if "u:" in c], [c for c in seen if "u:" in c]


def test_a_capped_user_and_campaign_is_not_served(world, service):
    """A user shown one campaign as often as its cap allows (impressions produced here, within
    the stream's lateness, and streamed) gets none of its ads; a user below the cap does."""
    env, events = world
    cs = campaigns()
    newest = max(e["event_time"] for e in events)
    # Its campaign still in flight at the request's time (newest + 1): events come in no fixed
    # partition order, and a campaign whose flight ended earlier would be dropped for that.
    base = next(
        e
        for e in events
        if e["event_type"] == "impression"
        and personalised(e["consent"])
        and e["geo"] in cs[e["campaign_id"]]["geos"]
        and e["device"] in cs[e["campaign_id"]]["devices"]
        and cs[e["campaign_id"]]["flight"][0] <= newest + 1 < cs[e["campaign_id"]]["flight"][1]
    )  # fmt: skip (the generator fills audiences nobody targets with any ad)
    campaign, cap = base["campaign_id"], cs[base["campaign_id"]]["cap"]
    extra = []
    for k in range(cap):
        e = dict(base, event_id=str(uuid.uuid4()), request_id=str(uuid.uuid4()),
                 event_time=newest - 1000 * (k + 1))  # fmt: skip
        extra.append(f"{e['user_id']}\t{json.dumps(e)}")
    kcat = subprocess.run(
        ["kcat", "-P", "-b", BOOTSTRAP, "-t", env["ADSX_KAFKA__EVENTS_TOPIC"], "-K", "\t"],
        input="\n".join(extra).encode() + b"\n", capture_output=True, check=False,
    )  # fmt: skip
    assert kcat.returncode == 0, kcat.stderr
    stream = subprocess.run([ADSX_BIN, "stream", "--until-idle", "3"], env=env,
                            capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert stream.returncode == 0, stream.stderr[-2000:]
    ads = [int(a) for (a,) in psql(f"SELECT ad_id FROM ads WHERE campaign_id = {campaign}")]
    ctx = {"device": base["device"], "geo": base["geo"], "placement": "feed", "time": newest + 1}
    body = {"user_id": base["user_id"], "consent": base["consent"], "candidate_ids": ads,
            "debug": True, "slots": 3, "context": ctx}  # fmt: skip
    status, r = rank(service, body)
    assert status == 200, r
    assert r["ranked_ads"] == [], r
    assert set(r["dropped"].values()) == {"frequency_cap"}, r
    # Another user with personalisation consent and no impressions of it is not capped.
    other = next(
        e for e in events
        if personalised(e["consent"]) and e["user_id"] != base["user_id"]
        and not any(x["user_id"] == e["user_id"] and x["campaign_id"] == campaign for x in events)
    )  # fmt: skip
    status, r = rank(service, dict(body, user_id=other["user_id"], consent=other["consent"]))
    assert "frequency_cap" not in r["dropped"].values(), r


def test_an_exhausted_budget_stops_delivery_within_seconds(world, service):
    _, events = world
    now = int(time.time() * 1000)
    device, geo = contexts(events)[0][0]
    body = {"user_id": events[0]["user_id"], "slots": 5, "debug": True,
            "context": {"device": device, "geo": geo, "placement": "feed", "time": now}}  # fmt: skip
    status, r = rank(service, body)
    assert status == 200 and r["ranked_ads"], r
    campaign = r["ranked_ads"][0]["campaign_id"]
    budget = campaigns()[campaign]["daily_budget"]
    psql(
        "INSERT INTO analytics_minute (minute, ad_id, campaign_id, experiment, arm, device, geo,"
        " impressions, clicks, conversions, spend, revenue) VALUES (date_trunc('minute', now()),"
        f" 1, {campaign}, 'it-rank', 'budget', 'ios', 'ZZ', 1, 0, 0, {budget}, 0)"
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status, r = rank(service, body)
            if all(a["campaign_id"] != campaign for a in r["ranked_ads"]):
                break
            time.sleep(0.2)
        assert all(a["campaign_id"] != campaign for a in r["ranked_ads"]), r
        assert "budget" in r["dropped"].values()
    finally:
        psql("DELETE FROM analytics_minute WHERE experiment = 'it-rank'")


def test_bad_bodies_get_documented_errors(service, openapi_doc):
    ctx = {"device": "ios", "geo": "US-CA", "placement": "feed"}
    user = "k1:" + "a" * 32
    cases = [
        ({"context": ctx}, 422, "user_id"),
        ({"user_id": "K1:RAW", "context": ctx}, 422, "user_id"),
        ({"user_id": user, "context": dict(ctx, device="phone")}, 422, "context.device"),
        ({"user_id": user, "context": dict(ctx, geo="usa")}, 422, "context.geo"),
        ({"user_id": user, "context": ctx, "slots": 0}, 422, "slots"),
        ({"user_id": user, "context": ctx, "slots": "3"}, 422, "slots"),
        ({"user_id": user, "context": ctx, "candidate_ids": [0]}, 422, "candidate_ids"),
        ({"user_id": user, "context": ctx, "extra": 1}, 422, "extra"),
        ({"user_id": user, "context": ctx, "consent": "not tcf!"}, 422, "consent"),
    ]
    for body, want, field in cases:
        status, r = rank(service, body)
        assert status == want and r["error"]["field"] == field, (body, r)
        check_schema(openapi_doc, "/rank_ads", "post", want, r)
    status, _, data = service.request(
        "POST", "/rank_ads", b"{not json", {"Content-Type": "application/json"}
    )
    assert status == 400 and json.loads(data)["error"]["code"] == "bad_request"
    status, _, data = service.request("POST", "/rank_ads", b"{}", {"Content-Type": "text/plain"})
    assert status == 415


def test_redis_down_degrades_to_contextual_ranking_without_5xx(world, registry):
    env = dict(world[0], ADSX_MODELS__DIR=str(registry), ADSX_REDIS__PORT=str(free_port()))
    svc = Service(env)
    try:
        status, r = rank(svc, {"user_id": world[1][0]["user_id"], "slots": 3,
                               "consent": world[1][0]["consent"],
                               "context": {"device": "ios", "geo": "US-CA", "placement": "feed"}})  # fmt: skip
        assert status == 200, r
        assert "user_features" in r["degraded"] and r["ranked_ads"], r
    finally:
        code, _ = svc.stop()
    assert code == 0
