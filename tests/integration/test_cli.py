"""The adsx command line contract: --help, version, exit 2 with a message on usage and config
errors. Needs no service."""

import base64
import json
import os

from conftest import SOURCE_DIR, run_adsx


def test_help_lists_the_subcommands():
    r = run_adsx("--help")
    assert r.returncode == 0
    for word in ("stack", "config", "version"):
        assert word in r.stdout


def test_stack_help_describes_up_down_status():
    r = run_adsx("stack", "--help")
    assert r.returncode == 0
    for word in ("up", "down", "status", "idempotent"):
        assert word in r.stdout


def test_version():
    r = run_adsx("version")
    assert r.returncode == 0
    assert r.stdout.startswith("adsx 0.")


def test_unknown_subcommand_is_a_usage_error():
    r = run_adsx("stack", "sideways")
    assert r.returncode == 2
    assert "sideways" in r.stderr


def test_missing_subcommand_is_a_usage_error():
    r = run_adsx()
    assert r.returncode == 2


def test_invalid_config_value_exits_2_naming_the_key():
    env = dict(os.environ, ADSX_REDIS__PORT="sixty")
    r = run_adsx("stack", "status", env=env)
    assert r.returncode == 2
    assert "ADSX_REDIS__PORT" in r.stderr and "redis.port" in r.stderr, r.stderr


def test_unknown_config_variable_exits_2():
    env = dict(os.environ, ADSX_REDIS__PROT="1")
    r = run_adsx("config", "check", env=env)
    assert r.returncode == 2
    assert "ADSX_REDIS__PROT" in r.stderr


def test_missing_config_file_exits_2():
    r = run_adsx("--config", "/nonexistent/adsx.toml", "config", "check")
    assert r.returncode == 2
    assert "/nonexistent/adsx.toml" in r.stderr


def test_config_show_lists_effective_values():
    env = dict(os.environ, ADSX_REDIS__PORT="7777")
    r = run_adsx("config", "show", env=env)
    assert r.returncode == 0
    assert "redis.port = 7777" in r.stdout


VALID_EVENT = {
    "schema_version": 1, "event_id": "0b7e1d6a-3c1f-4d2a-9a51-8f0c2b6d4e11",
    "event_type": "impression", "event_time": 1764547200000,
    "user_id": "k1:0123456789abcdef0123456789abcdef", "ad_id": 7, "campaign_id": 3,
    "advertiser_id": 1, "request_id": "5d2c4f8e-1a3b-4c6d-8e9f-0a1b2c3d4e5f", "device": "ios",
    "geo": "US-CA", "placement": "feed", "slot": 1, "bid": 1.5, "price": 0.9, "revenue": 0,
    "experiment": None, "arm": None, "consent": "CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA",
    "ip": "203.0.113.0", "user_agent": "Mozilla/5.0",
}  # fmt: skip


def test_events_schema_prints_the_contract_it_was_built_with():
    r = run_adsx("events", "schema")
    assert r.returncode == 0
    built_in = json.loads(r.stdout)
    assert built_in == json.loads((SOURCE_DIR / "schemas" / "ad_event.schema.json").read_text())


def test_events_check_names_each_bad_record_and_exits_1(tmp_path):
    records = tmp_path / "records.jsonl"
    records.write_text(json.dumps(VALID_EVENT) + '\n{\n{"event_type": "impression"}\n')
    r = run_adsx("events", "check", str(records))
    assert r.returncode == 1, r.stderr
    assert r.stdout.splitlines() == ["2\tmalformed_json\t", "3\tmissing_field\tschema_version"]
    r = run_adsx("events", "check", "--all", str(records))
    assert r.stdout.splitlines()[0].startswith("1\tvalid")
    good = tmp_path / "good.b64"
    good.write_text(base64.b64encode(json.dumps(VALID_EVENT).encode()).decode() + "\n")
    r = run_adsx("events", "check", "--base64", str(good))
    assert r.returncode == 0 and r.stdout == "", r.stdout + r.stderr


def test_simulate_refuses_a_url_it_cannot_use():
    r = run_adsx("simulate", "--url", "http://127.0.0.1:notaport", "--duration", "1")
    assert r.returncode == 2
    assert "--url http://127.0.0.1:notaport: expected http://HOST:PORT" in r.stderr
