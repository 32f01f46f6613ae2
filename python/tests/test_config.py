"""Proves that adsx_jobs.config reads config/adsx.toml by the rules of config/adsx.schema.json as
the C++ loader does: compiled defaults for keys the file lacks, typed values, the environment's
spellings of integers and booleans, every kind of invalid value rejected naming where it came
from, and paths resolved against the root above the config file (lexically, as
std::filesystem does). tests/integration/test_config_parity.py holds it equal to `adsx` itself."""

import pytest

from adsx_jobs.config import ConfigError, describe, lexically_normal, load, specs


def write(tmp_path, text):
    (tmp_path / "config").mkdir(exist_ok=True)
    p = tmp_path / "config" / "adsx.toml"
    p.write_text(text)
    return p


def test_keys_missing_from_the_file_take_the_compiled_defaults(tmp_path):
    cfg = load(write(tmp_path, "[redis]\nport = 7000\n"), {})
    assert cfg["redis"]["port"] == 7000
    assert cfg["redis"]["host"] == "127.0.0.1"
    assert cfg["kafka"]["managed"] is True
    assert cfg["events"]["max_future_s"] == 300
    assert cfg["stream"]["click_window_s"] == 3600
    assert len(describe(cfg)) == len(specs())


def test_environment_overrides_are_parsed_as_the_key_types(tmp_path):
    env = {
        "ADSX_REDIS__PORT": " 6380 ",
        "ADSX_REDIS__HOST": "b",
        "ADSX_KAFKA__MANAGED": "No",
        "ADSX_REDIS__MANAGED": "1",
        "ADSX_POSTGRES__MANAGED": "yes",
        "ADSX_EVENTS__MAX_FUTURE_S": "0",
    }
    cfg = load(write(tmp_path, "[redis]\nport = 6379\n"), env)
    assert cfg["redis"]["port"] == 6380 and cfg["redis"]["host"] == "b"
    assert cfg["kafka"]["managed"] is False
    assert cfg["redis"]["managed"] is True and cfg["postgres"]["managed"] is True
    assert cfg["events"]["max_future_s"] == 0


@pytest.mark.parametrize(
    "text, env, message",
    [
        ("[redis]\nprot = 1\n", {}, "unknown key redis.prot"),
        ("x = 1\n", {}, "'x' must be a [section]"),
        ("[redis]\nport = '6379'\n", {}, 'redis.port: expected an integer, got "6379"'),
        ("[redis]\nport = true\n", {}, "redis.port: expected an integer, got true"),
        ("[redis]\nmanaged = 'no'\n", {}, "redis.managed: expected true or false"),
        ("[redis]\nhost = 5\n", {}, "redis.host: expected a string, got 5"),
        ("[redis]\nport = [1]\n", {}, "redis.port must be a scalar value"),
        ("[redis]\nport = 0\n", {}, "redis.port = 0: out of range [1, 65535]"),
        ("[log]\nlevel = 'loud'\n", {"ADSX_LOG__LEVEL": "info"}, 'log.level = "loud"'),
        ("[privacy]\nkey_id = 'K1'\n", {}, "must match ^[a-z0-9]{1,8}$"),
        ("[kafka]\nbootstrap_servers = 'h'\n", {}, "'h' is not host:port"),
        ("[prometheus]\nscrape_interval = '0s'\n", {}, "must be a positive duration"),
        ("[kafka]\nheap = ' '\n", {}, "must not be empty"),
        ("", {"ADSX_REDIS__PROT": "1"}, "unknown configuration variable ADSX_REDIS__PROT"),
        ("", {"ADSX_REDIS__PORT": "+5"}, "ADSX_REDIS__PORT (redis.port): expected an integer"),
        ("", {"ADSX_REDIS__MANAGED": "on"}, "ADSX_REDIS__MANAGED (redis.managed): expected"),
        ("", {"ADSX_EVENTS__MAX_FUTURE_S": "86401"}, "out of range [0, 86400]"),
        ("", {"ADSX_LAKE__DIR": ""}, 'lake.dir) = "": must not be empty'),
    ],
)
def test_invalid_values_are_errors_naming_where_they_came_from(tmp_path, text, env, message):
    with pytest.raises(ConfigError) as e:
        load(write(tmp_path, text), env)
    assert message in str(e.value)


def test_relative_paths_resolve_against_the_directory_above_the_config_directory(tmp_path):
    f = write(
        tmp_path,
        '[spark]\ncheckpoint_dir = "./var/../spark/"\n[models]\ndir = "/abs//models"\n'
        '[lake]\ndir = "s3a://bucket/lake"\n',
    )
    cfg = load(f, {"ADSX_STACK__VAR_DIR": "data"})
    assert cfg.root == tmp_path
    assert cfg.location("spark", "checkpoint_dir") == f"{tmp_path}/spark/"
    assert cfg.path("stack", "var_dir") == tmp_path / "data"
    assert cfg["models"]["dir"] == "/abs//models"
    assert cfg.location("lake", "dir") == "s3a://bucket/lake"
    assert cfg["postgres"]["password_file"] == ""


def test_an_empty_cache_dir_means_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg/")
    assert load(write(tmp_path, ""), {})["stack"]["cache_dir"] == "/xdg/adstreamx"
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", "/home/u")
    assert load(write(tmp_path, ""), {})["stack"]["cache_dir"] == "/home/u/.cache/adstreamx"


@pytest.mark.parametrize(
    "path, normal",
    [
        ("foo/./bar/..", "foo/"),
        ("foo/.///bar/../", "foo/"),
        ("/a/../..", "/"),
        ("a/../..", ".."),
        ("../a/..", ".."),
        ("a/..", "."),
        ("/srv//x/./y", "/srv/x/y"),
    ],
)
def test_lexically_normal_follows_std_filesystem(path, normal):
    assert lexically_normal(path) == normal


def test_the_project_file_loads():
    cfg = load(environ={})
    assert cfg["spark"]["master"].startswith("local")
    assert cfg["stream"]["allowed_lateness_s"] == 300
    assert cfg["events"]["max_future_s"] == 300
