"""Erasure as a request (issue #23): records on the privacy requests topic processed by
`adsx privacy worker`, once even when read again, resumed after a SIGKILL; the operators'
/admin routes of `adsx serve` behind a bearer token (401, 403, 202/200) queueing erasures for
the worker; and the suppression list honoured by serving (an erased user is not personalised
nor logged on ad.serves) and by the generator's edge (their events are not sent)."""

import json
import re
import signal
import subprocess
import time
import uuid
from collections import Counter

import pytest
from conftest import (
    ADSX_BIN,
    BOOTSTRAP,
    Service,
    check_schema,
    consume,
    delete_topic,
    generated_and_streamed,
    personalised,
    psql,
    run_adsx,
    topic_record_count,
)
from test_privacy import pseudonym, store

EVENTS = 6000
TOKEN = "it-admin-token-0123456789abcdef0123456789"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A streamed world, a requests topic of its own, the personalised users by activity, and
    an admin token file; every privacy row it made is removed afterwards."""
    since = psql("SELECT now()")[0][0]
    env, events, topics = generated_and_streamed("it.privreq", EVENTS, 37)
    requests = f"it.privacy.requests.{uuid.uuid4().hex[:8]}"
    token = tmp_path_factory.mktemp("secrets") / "admin.token"
    token.write_text(TOKEN + "\n")
    env = dict(
        env,
        ADSX_KAFKA__PRIVACY_TOPIC=requests,
        ADSX_PRIVACY__SUPPRESSION_REFRESH_S="1",
        ADSX_SERVE__ADMIN_TOKEN_FILE=str(token),
    )
    users = [
        u
        for u, _ in Counter(
            e["user_id"]
            for e in events
            if e["event_type"] == "impression" and personalised(e["consent"])
        ).most_common(8)
    ]
    # Creates the requests topic (and exits at once: nothing to do).
    idle = run_adsx("privacy", "worker", "--until-idle", "0.5", env=env, timeout=120)
    assert idle.returncode == 0, idle.stdout + idle.stderr
    assert "0 erasure(s) verified" in idle.stdout, idle.stdout
    yield env, events, users, requests
    for t in [*topics, requests]:
        delete_topic(t)
    psql(f"DELETE FROM privacy_suppressed WHERE suppressed_at >= '{since}'")
    psql(f"DELETE FROM privacy_requests WHERE requested_at >= '{since}'")
    psql(f"DELETE FROM privacy_worker_offsets WHERE topic = '{requests}'")


def produce(topic: str, *records: tuple[str, str]) -> None:
    """Records (key, value) onto a topic with kcat (librdkafka's CLI, not our code)."""
    subprocess.run(
        ["kcat", "-P", "-b", BOOTSTRAP, "-t", topic, "-K", "\t"],
        input="".join(f"{k}\t{v}\n" for k, v in records), text=True, check=True, timeout=60,
    )  # fmt: skip


def ledger(user: str) -> list[list[str]]:
    return psql(
        "SELECT source, request_key, completed_at IS NOT NULL, verified_at IS NOT NULL"
        f" FROM privacy_requests WHERE user_id = '{user}' ORDER BY id"
    )


def test_the_worker_erases_each_queued_request_once_even_when_read_again(world):
    env, _, users, topic = world
    by_pseudonym, by_raw_id = users[0], users[1]
    raw = next(f"u{i}" for i in range(200_000) if pseudonym(f"u{i}") == by_raw_id)
    r = store()
    assert r.exists(f"u:{by_pseudonym}") and r.exists(f"u:{by_raw_id}")
    produce(
        topic,
        ("x", "not json"),
        ("x", json.dumps({"user": by_pseudonym})),  # no user_id: refused, said where
        (by_pseudonym, json.dumps({"request_id": "it-req-1", "user_id": by_pseudonym})),
        # A raw id is pseudonymised by the worker (and sits in the topic: producers should not).
        ("raw", json.dumps({"request_id": "it-req-2", "user_id": raw, "source": "crm"})),
    )
    w = run_adsx("privacy", "worker", "--until-idle", "2", env=env, timeout=120)
    assert w.returncode == 0, w.stdout + w.stderr
    assert "2 erasure(s) verified, 2 record(s) refused" in w.stdout, w.stdout
    assert w.stderr.count("erasure record refused") == 2, w.stderr
    assert ledger(by_pseudonym) == [["topic", "it-req-1", "t", "t"]]
    assert ledger(by_raw_id) == [["crm", "it-req-2", "t", "t"]]
    for u in (by_pseudonym, by_raw_id):
        assert not r.exists(f"u:{u}")
        v = run_adsx("privacy", "verify", "--user", u, env=env)
        assert v.returncode == 3 and "no trace of" in v.stdout, v.stdout + v.stderr  # lake to come
    assert r.exists(f"u:{users[2]}")

    # Read again from the start (its stored position lost): the same requests, nothing new.
    psql(f"DELETE FROM privacy_worker_offsets WHERE topic = '{topic}'")
    again = run_adsx("privacy", "worker", "--until-idle", "2", env=env, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 erasure(s) verified" in again.stdout, again.stdout
    assert ledger(by_pseudonym) == [["topic", "it-req-1", "t", "t"]]
    assert ledger(by_raw_id) == [["crm", "it-req-2", "t", "t"]]


def test_a_worker_killed_during_an_erasure_resumes_it_and_completes_it_once(world):
    env, _, users, topic = world
    user = users[3]
    produce(topic, (user, json.dumps({"request_id": "it-req-kill", "user_id": user})))
    worker = subprocess.Popen(
        [ADSX_BIN, "privacy", "worker"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    for line in worker.stdout:  # killed after its first sweep, in the wait for the consumers
        if line.startswith("waiting"):
            break
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert ledger(user) == [["topic", "it-req-kill", "f", "f"]]
    assert not store().exists(f"u:{user}")
    w = run_adsx("privacy", "worker", "--until-idle", "2", env=env, timeout=120)
    assert w.returncode == 0, w.stdout + w.stderr
    assert f"erasing {user} (request" in w.stdout and "resumed" in w.stdout, w.stdout
    assert ledger(user) == [["topic", "it-req-kill", "t", "t"]]


def test_a_batch_a_store_failed_is_done_again_on_new_connections(world):
    env, _, users, topic = world
    user = users[6]
    worker = subprocess.Popen(
        [ADSX_BIN, "privacy", "worker", "--until-idle", "5"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for line in worker.stdout:  # connected to the stores, reading the topic
            if line.startswith("privacy worker:"):
                break
        # Redis answers no one for 12 s: the worker's sweep outlives its 5 s command timeout.
        store().execute_command("CLIENT", "PAUSE", "12000", "ALL")
        produce(topic, (user, json.dumps({"request_id": "it-req-pause", "user_id": user})))
        out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, out + err
    retries = [json.loads(x) for x in err.splitlines() if "retrying on new connections" in x]
    assert retries and retries[0]["fields"]["failures"] == 1, err
    assert "1 erasure(s) verified" in out, out
    assert ledger(user) == [["topic", "it-req-pause", "t", "t"]]
    assert not store().exists(f"u:{user}")


def rank_body(user: str, consent: str) -> bytes:
    return json.dumps(
        {
            "user_id": user,
            "consent": consent,
            "context": {"device": "ios", "geo": "US-CA", "placement": "feed"},
            "slots": 2,
        }
    ).encode()


def test_admin_routes_need_the_token_and_queue_erasures_that_serving_honours(world, openapi_doc):
    env, events, users, topic = world
    user = users[4]
    consent = next(e["consent"] for e in events if e["user_id"] == user)
    serves = f"it.privreq.serves.{uuid.uuid4().hex[:8]}"
    svc = Service(dict(env, ADSX_KAFKA__SERVES_TOPIC=serves))
    try:
        post = {"Content-Type": "application/json"}
        body = json.dumps({"user": user}).encode()
        status, headers, data = svc.request("POST", "/admin/privacy/erasures", body, post)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer"), data
        assert json.loads(data)["error"]["code"] == "unauthenticated"
        wrong = dict(post, Authorization="Bearer " + TOKEN[:-1])
        status, _, data = svc.request("POST", "/admin/privacy/erasures", body, wrong)
        assert status == 403 and json.loads(data)["error"]["code"] == "forbidden", data
        assert psql(f"SELECT count(*) FROM privacy_suppressed WHERE user_id = '{user}'") == [["0"]]

        # Served personalised before the erasure.
        status, _, data = svc.request("POST", "/rank_ads", rank_body(user, consent), post)
        assert status == 200 and json.loads(data)["personalised"] is True, data

        auth = dict(post, Authorization="Bearer " + TOKEN, **{"X-Request-Id": "it-http-1"})
        status, _, data = svc.request("POST", "/admin/privacy/erasures", body, auth)
        assert status == 202, data
        row = json.loads(data)
        check_schema(openapi_doc, "/admin/privacy/erasures", "post", 202, row)
        assert (row["user_id"], row["source"], row["verified_at"]) == (user, "http", None)
        # A retry with the same request id is the same request.
        status, _, again = svc.request("POST", "/admin/privacy/erasures", body, auth)
        assert status == 202 and json.loads(again)["request_id"] == row["request_id"]
        # Suppressed at once: served without personalisation from the service's next reload,
        # and no longer logged on ad.serves.
        time.sleep(2.5)
        logged = topic_record_count(serves)
        status, _, data = svc.request("POST", "/rank_ads", rank_body(user, consent), post)
        assert status == 200 and json.loads(data)["personalised"] is False, data
        time.sleep(1)
        assert topic_record_count(serves) == logged
        assert [json.loads(v)["user_id"] for v in consume(serves, None, "%s\n")].count(user) == 1

        w = run_adsx("privacy", "worker", "--until-idle", "2", env=env, timeout=120)
        assert w.returncode == 0, w.stdout + w.stderr
        assert "1 erasure(s) verified" in w.stdout, w.stdout
        status, _, data = svc.request(
            "GET", f"/admin/privacy/erasures/{row['request_id']}", None, auth
        )
        done = json.loads(data)
        assert status == 200 and done["verified_at"] and done["completed_at"], data
        check_schema(openapi_doc, "/admin/privacy/erasures/{id}", "get", 200, done)
        assert set(done["stores"]) == {"redis", "postgres", "second_sweep", "kafka"}
        assert done["lake_erased_at"] is None  # adsx_jobs.lake_erase has not run
        assert not store().exists(f"u:{user}")
        status, _, _ = svc.request("GET", "/admin/privacy/erasures/999999999", None, auth)
        assert status == 404

        status, _, data = svc.request(
            "POST", "/admin/privacy/retention", b'{"as_of": "2020-04-01"}', auth
        )
        assert status == 200, data
        listed = json.loads(data)
        check_schema(openapi_doc, "/admin/privacy/retention", "post", 200, listed)
        assert (listed["cutoff"], listed["apply"]) == ("2020-01-02", False)
        status, _, data = svc.request("GET", "/admin/experiments", None, auth)
        assert status == 200 and "experiments" in json.loads(data), data
        status, _, data = svc.request("POST", "/admin/experiments/no-such-exp/start", b"", auth)
        assert status == 404, data
    finally:
        code, err = svc.stop()
        delete_topic(serves)
    assert code == 0, err[-2000:]
    assert TOKEN not in err


def test_outside_the_dev_profile_serve_refuses_a_missing_or_placeholder_token(world, tmp_path):
    env, *_ = world
    placeholder = tmp_path / "admin.token"
    placeholder.write_text("changeme\n")
    for file in (placeholder, tmp_path / "missing.token"):
        r = run_adsx(
            "serve",
            env=dict(env, ADSX_STACK__PROFILE="prod", ADSX_SERVE__ADMIN_TOKEN_FILE=str(file)),
            timeout=60,
        )
        assert r.returncode == 2, r.stdout + r.stderr
        assert "admin token" in r.stderr and "changeme" not in r.stderr, r.stderr


def test_the_generator_edge_does_not_send_events_of_erased_users(world):
    env, events, users, _ = world
    user = users[5]
    psql(f"INSERT INTO privacy_suppressed (user_id) VALUES ('{user}')")
    topic = f"it.privreq.edge.{uuid.uuid4().hex[:8]}"
    try:
        g = run_adsx(
            "generate", "--events", str(EVENTS), "--seed", "37",
            env=dict(env, ADSX_KAFKA__EVENTS_TOPIC=topic), timeout=600,
        )  # fmt: skip
        assert g.returncode == 0, g.stdout + g.stderr
        assert "record(s) of erased users not sent (suppression list)" in g.stdout, g.stdout
        skipped = int(re.search(r"(\d+) record\(s\) of erased users", g.stdout).group(1))
        assert skipped > 0
        sent = consume(topic, None, "%s\n")
        assert len(sent) == EVENTS - skipped
        assert not any(user in v for v in sent)
    finally:
        delete_topic(topic)
