"""The Grafana dashboard (deploy/grafana/adstreamx.json) is an importable dashboard whose every
panel query parses and returns data from the stack's Prometheus while adsx generate, stream and
serve run; `adsx stack dashboard` draws its headline panels from Prometheus into one HTML page
that a real browser (Debian's Chromium) renders with a line in every panel and no console
error."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid

import pytest
from conftest import (
    ADSX_BIN,
    PROMETHEUS,
    SOURCE_DIR,
    Service,
    browser,  # noqa: F401 (a fixture)
    delete_topic,
    free_port,
    run_adsx,
    stream_env,
    topic_record_count,
)

DASHBOARD = json.loads((SOURCE_DIR / "deploy" / "grafana" / "adstreamx.json").read_text())


def query(expr: str) -> dict:
    url = f"{PROMETHEUS}/api/v1/query?query={urllib.parse.quote(expr)}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # a query Prometheus refuses answers 400 with its error
        return json.load(e)


def has_records(topic: str) -> bool:
    try:
        return topic_record_count(topic) > 0
    except AssertionError:  # not created yet
        return False


def test_the_dashboard_is_an_importable_grafana_dashboard():
    assert DASHBOARD["uid"] and DASHBOARD["title"] and DASHBOARD["schemaVersion"] >= 36
    assert [i["name"] for i in DASHBOARD["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in DASHBOARD["panels"]:
        assert p["type"] in {"timeseries", "heatmap"}, p["title"]
        assert (
            set(p["gridPos"]) == {"x", "y", "w", "h"}
            and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        )
        assert p["datasource"] == {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}, p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert refs and len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["expr"] and "$" not in t["expr"], "queries must run as is, outside Grafana"
    titles = " ".join(p["title"].lower() for p in DASHBOARD["panels"])
    for wanted in (
        "lag",
        "freshness",
        "throughput",
        "latency",
        "dead letters",
        "per arm",
        "heatmap",
    ):
        assert wanted in titles, wanted


@pytest.fixture(scope="module")
def traffic():
    """adsx generate (with malformed records), stream and serve running side by side, registered
    with the stack's Prometheus, until every panel's query has data."""
    topic = f"it.dash.{uuid.uuid4().hex[:8]}"
    env = stream_env(topic, topic + ".dlq", "it-dash-" + topic)
    procs = []
    service = Service(dict(os.environ))
    try:
        procs.append(subprocess.Popen(
            [ADSX_BIN, "generate", "--events", "400000", "--rate", "4000", "--malformed-rate", "0.02"],
            env=dict(env, ADSX_METRICS__PORT=str(free_port())), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        deadline = time.time() + 60
        while not has_records(topic):  # the stream starts on a topic that exists
            assert time.time() < deadline and procs[0].poll() is None, "nothing generated"
            time.sleep(0.5)
        procs.append(subprocess.Popen(
            [ADSX_BIN, "stream"], env=dict(env, ADSX_METRICS__PORT=str(free_port())),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        ))  # fmt: skip
        exprs = [t["expr"] for p in DASHBOARD["panels"] for t in p["targets"]]
        deadline = time.time() + 120
        missing = exprs
        # Until every query has data, then 12 s more (six scrapes), so that each series has
        # points enough for a line over the page's range.
        settled = None
        while (missing or time.time() < settled) and time.time() < deadline:
            body = json.dumps({
                "user_id": "k1:" + uuid.uuid4().hex, "slots": 2,
                "context": {"device": "ios", "geo": "US-CA", "placement": "feed"},
            }).encode()  # fmt: skip
            for _ in range(20):  # ranked once the service has the catalog generate wrote
                service.request("POST", "/rank_ads", body, {"Content-Type": "application/json"})
            service.request("GET", "/features/ad/1")
            time.sleep(2)
            missing = [e for e in exprs if not query(e)["data"]["result"]]
            if not missing and settled is None:
                settled = time.time() + 12
        yield missing
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=60)
        service.stop()
        delete_topic(topic)
        delete_topic(topic + ".dlq")


def test_every_panel_query_parses_and_returns_data(traffic):
    for p in DASHBOARD["panels"]:
        for t in p["targets"]:
            r = query(t["expr"])
            assert r["status"] == "success", (p["title"], t["expr"], r)
    assert traffic == [], f"queries without data after 2 minutes of traffic: {traffic}"


def test_the_status_page_draws_every_headline_panel(traffic, browser, tmp_path):  # noqa: F811
    out = tmp_path / "status.html"
    r = run_adsx("stack", "dashboard", "--out", str(out), "--minutes", "5")
    assert r.returncode == 0, r.stderr
    headline = [
        p
        for p in DASHBOARD["panels"]
        if p["type"] == "timeseries" and "headline" in p.get("tags", [])
    ]
    assert f"({len(headline)} panels from" in r.stdout
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(out.as_uri())
    # A flat line has no height, which playwright's "visible" would refuse: attached is enough.
    page.wait_for_selector(".panel svg path.line", state="attached", timeout=10_000)
    titles = page.eval_on_selector_all(".panel h2", "hs => hs.map(h => h.textContent)")
    assert titles == [p["title"] for p in headline]
    lines = page.eval_on_selector_all(
        ".panel", "ps => ps.map(p => p.querySelectorAll('svg path.line').length)"
    )
    assert all(n >= 1 for n in lines), dict(zip(titles, lines, strict=True))
    # Each panel draws a line through points (a series seen at one instant only is a dot).
    drawn = page.eval_on_selector_all(
        ".panel",
        """ps => ps.map(p => Math.max(...[...p.querySelectorAll('svg path.line')]
                       .map(l => (l.getAttribute('d').match(/L/g) || []).length)))""",
    )
    assert all(n >= 2 for n in drawn), dict(zip(titles, drawn, strict=True))
    assert not page.query_selector(".error"), page.inner_text(".error")
    shots = SOURCE_DIR / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "status.png"), full_page=True)
    assert errors == []
    page.close()
    # Prometheus unreachable: a clear error, nothing written.
    missing = tmp_path / "none.html"
    r = run_adsx("stack", "dashboard", "--out", str(missing),
                 env=dict(os.environ, ADSX_PROMETHEUS__PORT=str(free_port())))  # fmt: skip
    assert r.returncode == 1 and "not reached" in r.stderr and not missing.exists()
