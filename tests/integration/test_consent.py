"""Consent end to end (issue #23) with TC strings made by IAB Tech Lab's own encoder
(@iabtechlabtcf/core from npm, through tcf_encode.cjs), not by our code: a user whose events
grant personalisation gets user-level features; a newer event whose string withdraws it removes
the features held (the ad still counts the event) and serving stops personalising them; given
again, the user starts afresh. Strings that lack one needed purpose allow nothing."""

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
from conftest import (
    BOOTSTRAP,
    Service,
    delete_topic,
    generated_and_streamed,
    personalised,
    run_adsx,
)

HERE = Path(__file__).parent
GRANTED = [1, 2, 3, 4, 7, 8, 9, 10]  # what a consent banner's "accept all" leaves
WITHDRAWN = [1, 7, 8, 9, 10]  # storage and measurement only: no profile, no personalised ads
WITHOUT_3 = [1, 2, 4, 7]  # purpose 3 (build a profile) missing


def tc_strings(*purpose_sets: list[int]) -> list[str]:
    r = subprocess.run(
        ["node", str(HERE / "tcf_encode.cjs"), *(",".join(map(str, p)) for p in purpose_sets)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


@pytest.fixture(scope="module")
def world():
    env, events, topics = generated_and_streamed("it.consent", 400, 41)
    yield env, events
    for t in topics:
        delete_topic(t)


def produce(env: dict[str, str], *records: dict) -> None:
    subprocess.run(
        ["kcat", "-P", "-b", BOOTSTRAP, "-t", env["ADSX_KAFKA__EVENTS_TOPIC"], "-K", "\t"],
        input="".join(f"{r['user_id']}\t{json.dumps(r)}\n" for r in records),
        text=True, check=True, timeout=60,
    )  # fmt: skip
    s = run_adsx("stream", "--until-idle", "2", env=env, timeout=300)
    assert s.returncode == 0, s.stderr[-2000:]


def user_features(env: dict[str, str], user: str) -> dict | None:
    r = run_adsx("features", "user", user, env=env)
    return json.loads(r.stdout) if r.returncode == 0 else None


def test_the_official_encoders_strings_are_read_as_the_spec_says():
    granted, withdrawn, without_3 = tc_strings(GRANTED, WITHDRAWN, WITHOUT_3)
    # The test's own oracle (conftest.personalised reads the PurposesConsent bits) agrees that
    # the encoder wrote what was asked; then our decoder, through the service, must too.
    assert [personalised(s) for s in (granted, withdrawn, without_3)] == [True, False, False]


def test_a_withdrawn_consent_removes_the_features_held_and_stops_personalisation(world):
    env, events = world
    granted, withdrawn, without_3 = tc_strings(GRANTED, WITHDRAWN, WITHOUT_3)
    template = next(e for e in events if e["event_type"] == "impression")
    user = "k1:" + uuid.uuid4().hex
    now = int(time.time() * 1000)

    def impression(consent: str, t: int) -> dict:
        return dict(template, event_id=str(uuid.uuid4()), request_id=str(uuid.uuid4()),
                    user_id=user, consent=consent, event_time=t)  # fmt: skip

    r = redis.Redis(port=int(env.get("ADSX_REDIS__PORT", "6379")))
    produce(env, impression(granted, now - 3000), impression(granted, now - 2000))
    held = user_features(env, user)
    assert held is not None and r.exists(f"u:{user}"), held

    svc = Service(env)
    try:

        def rank(consent: str) -> dict:
            body = {"user_id": user, "consent": consent, "slots": 1,
                    "context": {"device": template["device"], "geo": template["geo"],
                                "placement": "feed"}}  # fmt: skip
            status, _, data = svc.request(
                "POST", "/rank_ads", json.dumps(body).encode(), {"Content-Type": "application/json"}
            )
            assert status == 200, data
            return json.loads(data)

        assert rank(granted)["personalised"] is True
        for no in (withdrawn, without_3):
            assert rank(no)["personalised"] is False
            status, _, f = svc.get_json(f"/features/user/{user}?consent={no}")
            assert (status, f) == (200, {"user_id": user, "personalisation": False})

        # The withdrawal reaches the stream: the user's features go; the ad still counts it.
        produce(env, impression(withdrawn, now - 1000))
        assert not r.exists(f"u:{user}")
        assert user_features(env, user) is None
        status, _, ad = svc.get_json(f"/features/ad/{template['ad_id']}")
        assert status == 200 and ad["newest_event"] == now - 1000, ad
        status, _, _ = svc.get_json(f"/features/user/{user}?consent={granted}")
        assert status == 404  # nothing held of them any more

        # Given again: the user starts afresh, with only what came after.
        produce(env, impression(granted, now))
        again = user_features(env, user)
        assert again is not None, "no features after consent was given again"
        assert again["as_of"] == now and again["last_1h"]["impressions"] == 1, again
    finally:
        code, err = svc.stop()
    assert code == 0, err[-2000:]
