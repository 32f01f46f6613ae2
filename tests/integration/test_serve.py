"""`adsx serve` on the real stack: after a generated run streamed into Redis, the feature API
answers what the events say (windows counted here from the topic by the tile rule), reads no
user key for a user without personalisation consent (Redis MONITOR), answers every error in the
documented shape and every reply within /openapi.json's schemas, degrades to 503 naming Redis
when Redis cannot be reached, exposes its metrics and registers them with the local Prometheus,
and stops on SIGTERM with exit 0."""

import json
import os
import pathlib
import re
import socket
import time
from collections import Counter

import pytest
from conftest import (
    SOURCE_DIR,
    Service,
    check_schema,
    delete_topic,
    free_port,
    generated_and_streamed,
    personalised,
    redis_commands,
    run_adsx,
)

EVENTS = int(os.environ.get("ADSX_IT_SERVE_EVENTS", "20000"))
MINUTE, HOUR = 60_000, 3_600_000


@pytest.fixture(scope="module")
def world():
    """Events generated into a topic of the test's own and streamed into a flushed Redis."""
    env, events, topics = generated_and_streamed("it.serve", EVENTS, 21)
    yield env, events
    for t in topics:
        delete_topic(t)


@pytest.fixture(scope="module")
def service(world):
    svc = Service(world[0])
    yield svc
    if svc.proc.poll() is None:
        svc.stop()


@pytest.fixture(scope="module")
def openapi(service):
    status, _, doc = service.get_json("/openapi.json")
    assert status == 200
    return doc


def window_impressions(events: list[dict], key: str, value, as_of: int, width: int, n: int):
    """Impressions of events[key] == value in the n tiles of `width` ending with as_of's
    (schemas/online_store.json's tile rule), counted from the topic."""
    last = as_of // width
    return sum(
        1
        for e in events
        if e["event_type"] == "impression"
        and e[key] == value
        and last - n < e["event_time"] // width <= last
        and e["event_time"] <= as_of
    )


def test_ad_features_are_what_the_events_say(world, service, openapi):
    env, events = world
    newest = max(e["event_time"] for e in events)
    busiest = Counter(e["ad_id"] for e in events if e["event_type"] == "impression")
    for ad, _ in busiest.most_common(3):
        status, _, f = service.get_json(f"/features/ad/{ad}?as_of={newest}")
        assert status == 200, f
        check_schema(openapi, "/features/ad/{id}", "get", 200, f)
        assert f["ad_id"] == ad and f["as_of"] == newest
        for name, width, n in (("last_5m", MINUTE, 5), ("last_1h", MINUTE, 60)):
            want = window_impressions(events, "ad_id", ad, newest, width, n)
            assert f["stream"][name]["impressions"] == want, (ad, name)
        # The same read as the CLI's (one read path for people and serving).
        cli = run_adsx("features", "--as-of", str(newest), "ad", str(ad), env=env)
        assert cli.returncode == 0, cli.stderr
        assert json.loads(cli.stdout) == f["stream"]
        ad_newest = max(e["event_time"] for e in events if e["ad_id"] == ad)
        assert f["newest_event"] <= ad_newest  # impressions and clicks of the ad
        now_ms = time.time() * 1000
        assert abs(f["freshness_s"] - (now_ms - f["newest_event"]) / 1000) < 5


def test_user_features_and_consent(world, service, openapi):
    _, events = world
    with_consent = Counter(
        e["user_id"]
        for e in events
        if e["event_type"] == "impression" and personalised(e["consent"])
    )
    user, _ = with_consent.most_common(1)[0]
    newest = max(e["event_time"] for e in events)
    status, _, f = service.get_json(f"/features/user/{user}?as_of={newest}")
    assert status == 200, f
    check_schema(openapi, "/features/user/{id}", "get", 200, f)
    personal = [e for e in events if e["user_id"] == user and personalised(e["consent"])]
    want = window_impressions(personal, "user_id", user, newest, HOUR, 24)
    assert f["stream"]["last_24h"]["impressions"] == want

    # Without personalisation consent: the fact alone, and Redis is never asked for a user key.
    refused = next(e["consent"] for e in events if not personalised(e["consent"]))
    with redis_commands() as seen:
        status, _, f = service.get_json(f"/features/user/{user}?consent={refused}")
        assert status == 200
        assert f == {"user_id": user, "personalisation": False}
        check_schema(openapi, "/features/user/{id}", "get", 200, f)
        service.request("GET", "/features/ad/1")  # an ad key: the monitor sees the reads
    assert any("HGETALL a:1" in c for c in seen), seen
    assert not [c for c in seen if "u:" in c], seen


def test_errors_are_documented_4xx_json(service, openapi):
    cases = [
        ("GET", "/features/ad/abc", 422, "/features/ad/{id}"),
        ("GET", "/features/ad/0", 422, "/features/ad/{id}"),
        ("GET", "/features/ad/2147483000", 404, "/features/ad/{id}"),
        ("GET", "/features/user/K1:NOT-HEX", 422, "/features/user/{id}"),
        ("GET", "/features/user/k1:" + "0" * 32, 404, "/features/user/{id}"),
        ("GET", "/features/ad/1?as_of=soon", 422, None),
    ]
    for method, path, want, documented in cases:
        status, headers, data = service.request(method, path)
        body = json.loads(data)
        assert status == want, (path, body)
        assert set(body["error"]) >= {"code", "message"}
        if documented:
            check_schema(openapi, documented, "get", want, body)
    status, headers, data = service.request("POST", "/healthz")
    assert status == 405 and headers["Allow"] == "GET"
    status, _, data = service.request("GET", "/nowhere")
    assert status == 404 and json.loads(data)["error"]["code"] == "not_found"
    status, _, data = service.request("POST", "/features/ad/1", body=b"x" * (300 * 1024))
    assert status == 413 and json.loads(data)["error"]["code"] == "body_too_large"
    assert service.request("GET", "/healthz")[0] == 200  # and it keeps serving


def test_redis_unreachable_is_503_naming_it(world):
    env = dict(world[0], ADSX_REDIS__PORT=str(free_port()))
    svc = Service(env)
    try:
        status, headers, body = svc.get_json("/readyz")
        assert status == 503 and body["ready"] is False
        assert body["checks"]["redis"]["ok"] is False
        status, headers, body = svc.get_json("/features/ad/1")
        assert status == 503 and headers["Retry-After"] == "1"
        assert body["error"]["code"] == "unavailable"
    finally:
        code, _ = svc.stop()
    assert code == 0


def test_docs_metrics_prometheus_target_and_sigterm(world, service):
    status, headers, data = service.request("GET", "/docs")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"/openapi.json" in data and b"https://" not in data
    status, _, data = service.request("GET", "/metrics")
    text = data.decode()
    assert re.search(
        r'adsx_serve_requests_total\{route="/features/ad/\{id\}",status="200"\} [1-9]', text
    )
    assert 'adsx_serve_request_seconds_bucket{route="/healthz"' in text
    # The user routes were asked for users above: no user id in any label (issue #23).
    assert 'route="/features/user/{id}"' in text
    assert not re.search(r"[a-z0-9]{1,8}:[0-9a-f]{32}", text)
    var = pathlib.Path(os.environ.get("ADSX_STACK__VAR_DIR", SOURCE_DIR / "var"))
    targets = var / "prometheus" / "targets"
    mine = targets / f"serve-{service.proc.pid}.json"
    if targets.exists():  # the stack manages a Prometheus: the service registered with it
        assert mine.exists()
    code, stderr = service.stop()
    assert code == 0
    assert '"message":"stopped"' in stderr
    assert not mine.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", service.port), timeout=1)
