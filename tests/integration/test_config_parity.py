"""Proves that the Python jobs read the configuration exactly as `adsx` does: under the same
config file and environment, `python -m adsx_jobs.config show` prints the lines `adsx config
show` prints (defaults, typed values, environment spellings, resolved paths), and every bad input
one rejects the other rejects too, with the same message. Also that config/adsx.schema.json, the
Python side's copy of the keys, is what the binary prints (`make config-schema` after a change).
Needs no service."""

import os
import subprocess
import sys

import pytest
from conftest import ADSX_BIN, SOURCE_DIR, run_adsx

PROJECT_FILE = (SOURCE_DIR / "config" / "adsx.toml").read_text()
SPARSE_FILE = "[redis]\nport = 7000\n"
PATHS_FILE = """
[stack]
var_dir = "../elsewhere/./var"
deploy_dir = "/opt/adsx//deploy"
cache_dir = ""
[spark]
checkpoint_dir = "spark/../checkpoints/"
[lake]
dir = "s3a://bucket/lake"
[models]
dir = "."
[postgres]
password_file = "secrets/pg"
[privacy]
hmac_key_file = "/run/secrets/hmac.key"
"""


def environment(overrides: dict[str, str]) -> dict[str, str]:
    """This process's environment without configuration variables, plus `overrides`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("ADSX_") and "__" in k) and k != "ADSX_CONFIG"
    }
    return {**env, **overrides}


def both(tmp_path, text: str | None, env: dict[str, str], config_arg: str | None = None):
    """(adsx, python) runs of `config show` in tmp_path, with `text` as tmp_path's
    config/adsx.toml (None: the project's file, found from the working directory)."""
    args = ["--config", config_arg] if config_arg else []
    cwd = SOURCE_DIR
    if text is not None:
        (tmp_path / "config").mkdir(exist_ok=True)
        (tmp_path / "config" / "adsx.toml").write_text(text)
        cwd = tmp_path
        if config_arg is None:
            env = {**env, "ADSX_CONFIG": str(tmp_path / "config" / "adsx.toml")}

    def run(cmd):
        return subprocess.run(
            cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=60, check=False
        )

    cpp = run([ADSX_BIN, *args, "config", "show"])
    py = run([sys.executable, "-m", "adsx_jobs.config", *args, "show"])
    return cpp, py


AGREE = {
    "project file": (None, {}, None),
    "file lacking most keys": (SPARSE_FILE, {}, None),
    "relative and absolute paths": (PATHS_FILE, {"XDG_CACHE_HOME": "/xdg/"}, None),
    "relative --config": (PATHS_FILE, {}, "./config/../config/adsx.toml"),
    "cache dir from HOME": (SPARSE_FILE, {"XDG_CACHE_HOME": "", "HOME": "/home/u"}, None),
    "cache dir from a relative XDG": (SPARSE_FILE, {"XDG_CACHE_HOME": "xdg-rel"}, None),
    "booleans from the environment": (
        SPARSE_FILE,
        {
            "ADSX_KAFKA__MANAGED": "1",
            "ADSX_REDIS__MANAGED": " No ",
            "ADSX_POSTGRES__MANAGED": "yes",
            "ADSX_PROMETHEUS__MANAGED": "false",
        },
        None,
    ),
    "integers from the environment": (
        SPARSE_FILE,
        {
            "ADSX_REDIS__PORT": " 7001 ",
            "ADSX_METRICS__PORT": "0",
            "ADSX_EVENTS__MAX_FUTURE_S": "86400",
            "ADSX_STREAM__BATCH_SIZE": "000042",
        },
        None,
    ),
    "strings from the environment": (
        SPARSE_FILE,
        {
            "ADSX_POSTGRES__DATABASE": 'tab\there "quoted" \\ é \x01',
            "ADSX_KAFKA__BOOTSTRAP_SERVERS": " k1:9092, k2:9093 ",
            "ADSX_PROMETHEUS__SCRAPE_INTERVAL": " 500ms ",
            "ADSX_LOG__LEVEL": "debug",
            "ADSX_PRIVACY__KEY_ID": "k2026",
        },
        None,
    ),
    "paths from the environment": (
        PATHS_FILE,
        {
            "ADSX_STACK__VAR_DIR": "rel/var",
            "ADSX_MODELS__DIR": "s3a://not-a-url-key",
            "ADSX_LAKE__DIR": "hdfs://nn/lake",
            "ADSX_SPARK__CHECKPOINT_DIR": "/data//ckpt/./x/..",
            "ADSX_STACK__CACHE_DIR": "",
            "ADSX_POSTGRES__PASSWORD_FILE": "",
        },
        None,
    ),
}


@pytest.mark.parametrize("case", AGREE, ids=list(AGREE))
def test_python_show_prints_what_adsx_config_show_prints(tmp_path, case):
    text, env, config_arg = AGREE[case]
    cpp, py = both(tmp_path, text, environment(env), config_arg)
    assert cpp.returncode == 0, cpp.stderr
    assert py.returncode == 0, py.stderr
    assert py.stdout == cpp.stdout


REJECT = {
    "unknown key": ("[redis]\nprot = 1\n", {}),
    "unknown section": ("[nope]\nx = 1\n", {}),
    "value outside a section": ("x = 1\n", {}),
    "nested table": ("[redis.sub]\nx = 1\n", {}),
    "array value": ("[redis]\nport = [1]\n", {}),
    "date value": ("[redis]\nport = 1979-05-27\n", {}),
    "string for an integer": ("[redis]\nport = '6379'\n", {}),
    "float for an integer": ("[redis]\nport = 1.5\n", {}),
    "boolean for an integer": ("[redis]\nport = true\n", {}),
    "string for a boolean": ("[redis]\nmanaged = 'yes'\n", {}),
    "integer for a string": ("[redis]\nhost = 5\n", {}),
    "integer for a path": ("[stack]\nvar_dir = 5\n", {}),
    "below the minimum": ("[redis]\nport = 0\n", {}),
    "above the maximum": ("[events]\nmax_future_s = 86401\n", {}),
    "not one of": ("[kafka]\ncompression = 'LZ4'\n", {}),
    "pattern": ("[privacy]\nkey_id = 'toolongkey'\n", {}),
    "host_port_list": ("[kafka]\nbootstrap_servers = 'a:1,b'\n", {}),
    "host_port_list port": ("[kafka]\nbootstrap_servers = 'a:65536'\n", {}),
    "duration": ("[prometheus]\nscrape_interval = '2d'\n", {}),
    "non_empty": ("[kafka]\nheap = ' \t'\n", {}),
    "non_empty path": ("[lake]\ndir = ''\n", {}),
    "bad file value under a good override": (
        "[log]\nlevel = 'loud'\n",
        {"ADSX_LOG__LEVEL": "info"},
    ),
    "unknown variable": ("", {"ADSX_REDIS__PROT": "1"}),
    "lower-case variable": ("", {"ADSX_redis__port": "1"}),
    "integer variable": ("", {"ADSX_REDIS__PORT": "sixty"}),
    "integer variable with a plus": ("", {"ADSX_REDIS__PORT": "+5"}),
    "integer variable with underscores": ("", {"ADSX_STREAM__BATCH_SIZE": "5_000"}),
    "integer variable in other digits": ("", {"ADSX_REDIS__PORT": "٣"}),
    "integer variable out of range": ("", {"ADSX_REDIS__PORT": "65536"}),
    "boolean variable": ("", {"ADSX_REDIS__MANAGED": "on"}),
    "empty boolean variable": ("", {"ADSX_KAFKA__MANAGED": ""}),
    "one_of variable": ("", {"ADSX_LOG__LEVEL": "loud"}),
    "pattern variable": ("", {"ADSX_PRIVACY__KEY_ID": "K1"}),
    "host_port_list variable": ("", {"ADSX_KAFKA__BOOTSTRAP_SERVERS": "localhost"}),
    "duration variable": ("", {"ADSX_PROMETHEUS__SCRAPE_INTERVAL": "0s"}),
    "non_empty variable": ("", {"ADSX_MODELS__DIR": ""}),
}


def message(stderr: str) -> str:
    """The error without the program's name ("adsx: ..." / "adsx_jobs.config: ...")."""
    return stderr.strip().split(": ", 1)[1]


@pytest.mark.parametrize("case", REJECT, ids=list(REJECT))
def test_both_reject_the_same_bad_input_with_the_same_message(tmp_path, case):
    text, env = REJECT[case]
    cpp, py = both(tmp_path, text, environment(env))
    assert cpp.returncode == 2, cpp.stdout
    assert py.returncode == 2, py.stdout
    assert message(py.stderr) == message(cpp.stderr)


@pytest.mark.parametrize("text", ["[redis]\nport = = 3\n", "[redis\n"])
def test_both_reject_a_syntax_error(tmp_path, text):
    cpp, py = both(tmp_path, text, environment({}))
    assert (cpp.returncode, py.returncode) == (2, 2), (cpp.stderr, py.stderr)


def test_both_reject_a_missing_file(tmp_path):
    env = environment({"ADSX_CONFIG": str(tmp_path / "missing.toml")})
    cpp, py = both(tmp_path, None, env)
    assert (cpp.returncode, py.returncode) == (2, 2)
    assert message(py.stderr) == message(cpp.stderr)


def test_the_checked_in_schema_is_what_the_binary_prints():
    r = run_adsx("config", "schema", "--json")
    assert r.returncode == 0, r.stderr
    checked_in = (SOURCE_DIR / "config" / "adsx.schema.json").read_text()
    assert r.stdout == checked_in, "config/adsx.schema.json is stale: run `make config-schema`"
