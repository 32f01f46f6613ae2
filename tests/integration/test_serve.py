"""`adsx serve` on the real stack: after a generated run streamed into Redis, the feature API
answers what the events say (windows counted here from the topic by the tile rule), reads no
user key for a user without personalisation consent (Redis MONITOR), answers every error in the
documented shape and every reply within /openapi.json's schemas, degrades to 503 naming Redis
when Redis cannot be reached, exposes its metrics and registers them with the local Prometheus,
and stops on SIGTERM with exit 0."""

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter

import jsonschema
import pytest
import redis
from conftest import (
    ADSX_BIN,
    SOURCE_DIR,
    consume,
    delete_topic,
    personalised,
    run_adsx,
    stream_env,
)

EVENTS = int(os.environ.get("ADSX_IT_SERVE_EVENTS", "20000"))
MINUTE, HOUR = 60_000, 3_600_000
REDIS_PORT = int(os.environ.get("ADSX_REDIS__PORT", "6379"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Service:
    """A running `adsx serve` on a port of its own."""

    def __init__(self, env: dict[str, str]):
        self.port = free_port()
        self.env = dict(env, ADSX_SERVE__PORT=str(self.port), ADSX_METRICS__PORT="0")
        self.proc = subprocess.Popen(
            [ADSX_BIN, "serve"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line.startswith("serving on http://"), line + self.proc.stderr.read()[-2000:]

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, dict(r.getheaders()), data

    def get_json(self, path: str):
        status, headers, data = self.request("GET", path)
        return status, headers, json.loads(data)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        return code, self.proc.stderr.read()


@pytest.fixture(scope="module")
def world():
    """Events generated into a topic of the test's own and streamed into a flushed Redis."""
    suffix = uuid.uuid4().hex[:8]
    topic, dlq = f"it.serve.{suffix}", f"it.serve.{suffix}.dlq"
    env = stream_env(topic, dlq, f"it-serve-{suffix}")
    redis.Redis(port=REDIS_PORT).flushdb()
    gen = run_adsx("generate", "--events", str(EVENTS), "--seed", "21", env=env, timeout=600)
    assert gen.returncode == 0, gen.stderr[-2000:]
    stream = run_adsx("stream", "--until-idle", "3", env=env, timeout=600)
    assert stream.returncode == 0, stream.stderr[-3000:]
    events = [json.loads(v) for v in consume(topic, EVENTS, "%s\n")]
    yield env, events
    for t in (topic, dlq):
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


def check_schema(openapi: dict, path: str, method: str, status: int, body: dict) -> None:
    """The reply body must be what /openapi.json says this operation answers with `status`."""
    op = openapi["paths"][path][method]
    resp = op["responses"][str(status)]
    if "$ref" in resp:
        resp = openapi["components"]["responses"][resp["$ref"].split("/")[-1]]
    schema = dict(resp["content"]["application/json"]["schema"])
    schema["components"] = openapi["components"]
    jsonschema.Draft202012Validator(schema).validate(body)


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
    seen: list[str] = []
    r = redis.Redis(port=REDIS_PORT)
    stop = threading.Event()

    def watch():
        with r.monitor() as m:
            for cmd in m.listen():
                seen.append(cmd["command"])
                if stop.is_set():
                    return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(0.3)
    status, _, f = service.get_json(f"/features/user/{user}?consent={refused}")
    assert status == 200
    assert f == {"user_id": user, "personalisation": False}
    check_schema(openapi, "/features/user/{id}", "get", 200, f)
    service.request("GET", "/features/ad/1")  # an ad key: the monitor sees the service's reads
    time.sleep(0.3)
    stop.set()
    r.ping()  # wakes the monitor
    t.join(timeout=5)
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
    targets = SOURCE_DIR / "var" / "prometheus" / "targets"
    mine = targets / f"serve-{service.proc.pid}.json"
    if targets.exists():  # the stack manages a Prometheus: the service registered with it
        assert mine.exists()
    code, stderr = service.stop()
    assert code == 0
    assert '"message":"stopped"' in stderr
    assert not mine.exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", service.port), timeout=1)
