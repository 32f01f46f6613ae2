"""adsx_jobs.config: the same file and override rules as the C++ side."""

import pytest

from adsx_jobs.config import ConfigError, load


def write(tmp_path, text):
    p = tmp_path / "adsx.toml"
    p.write_text(text)
    return p


def test_environment_overrides_keep_the_file_types(tmp_path):
    f = write(tmp_path, '[redis]\nport = 6379\nhost = "a"\n[kafka]\nmanaged = true\n')
    cfg = load(
        f,
        {"ADSX_REDIS__PORT": "6380", "ADSX_REDIS__HOST": "b", "ADSX_KAFKA__MANAGED": "false"},
    )
    assert cfg["redis"] == {"port": 6380, "host": "b"}
    assert cfg["kafka"]["managed"] is False


def test_a_bad_integer_override_names_the_variable(tmp_path):
    f = write(tmp_path, "[redis]\nport = 6379\n")
    with pytest.raises(ConfigError, match="ADSX_REDIS__PORT='x'"):
        load(f, {"ADSX_REDIS__PORT": "x"})


def test_relative_paths_resolve_against_the_project_root(tmp_path):
    f = write(tmp_path, '[spark]\ncheckpoint_dir = "var/spark"\nabs = "/tmp/x"\n')
    cfg = load(f, {})
    assert cfg.path("spark", "checkpoint_dir") == cfg.root / "var" / "spark"
    assert str(cfg.path("spark", "abs")) == "/tmp/x"


def test_a_url_location_is_kept_as_is(tmp_path):
    f = write(tmp_path, '[lake]\ndir = "s3a://bucket/lake"\n')
    assert load(f, {}).location("lake", "dir") == "s3a://bucket/lake"


def test_the_project_file_loads():
    cfg = load(environ={})
    assert cfg["spark"]["master"].startswith("local")
    assert cfg["stream"]["allowed_lateness_s"] == 300
