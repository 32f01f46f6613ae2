"""The adsx command line contract: --help, version, exit 2 with a message on usage and config
errors. Needs no service."""

import os

from conftest import run_adsx


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
