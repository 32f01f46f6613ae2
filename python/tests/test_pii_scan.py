"""The PII scan's patterns: what is personal data (found) and what only looks like it (not)."""

import pytest

from adsx_jobs.pii_scan import Scan, findings


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('{"email":"jane.doe+ads@example.co.uk"}', "email"),
        ("client 81.2.69.142 connected", "ipv4"),
        ("from [2a00:1450:4001:81b::200e]:443", "ipv6"),
        ("call +44 20 7946 0958 now", "phone"),
        ('{"user_id":"u123"}', "raw_id"),
        ("erase --user u42", "raw_id"),
    ],
)
def test_personal_data_is_found(text, kind):
    assert [k for k, _ in findings(text)] == [kind]


@pytest.mark.parametrize(
    "text",
    [
        '{"user_id":"k1:0123456789abcdef0123456789abcdef","ip":"81.2.69.0"}',  # the edge's output
        '{"ip":"2a00:1450:4001::"}',  # IPv6 truncated to /48
        "listening on 127.0.0.1:9092, 10.0.0.5, 192.168.1.20 and [::1]:6379",  # not personal
        "classpath: snappy-java-1.1.10.5.jar:lz4-java-1.8.0.jar",  # versions
        "ts=2026-12-06T04:10:42.181093+00:00 took 12:34:56",  # times
        "event_id 0b9a3c2e-4f1d-4a8e-9c3b-2d1e0f9a8b7c, request r-u12x",  # ids
        "user=team+pkg-go@tracker.debian.org",  # a packager's address in a build banner
        "+1-555",  # too few digits for a phone number
        'adsx_serve_requests_total{route="/rank_ads",status="200"} 42',
    ],
)
def test_what_only_looks_personal_is_not_found(text):
    assert list(findings(text)) == []


def test_a_report_names_each_finding_masked_and_fails():
    scan = Scan(examples=5)
    scan.text("logs", "a.log:1", "mail jane@example.com")
    scan.text("kafka", "t record 0", '{"ip":"81.2.69.0"}')
    lines = []
    assert scan.report(type("out", (), {"write": lambda _, s: lines.append(s)})()) == 1
    text = "".join(lines)
    assert "jane@example.com" not in text and "'jan…' in a.log:1" in text
    assert text.rstrip().endswith("PII scan: 1 finding(s)")
