"""The project configuration for Python: config/adsx.toml plus ADSX_SECTION__KEY environment
overrides, read by the rules of config/adsx.schema.json. That file is what `adsx config schema
--json` prints from the table the C++ loader validates with (src/adsx/config/fields.cc), so both
languages see the same keys, compiled defaults, types, validation and resolved paths, and the
jobs need no C++ binary (on a Spark cluster). Values are typed (int, bool, str); path keys hold
resolved paths: relative ones are joined to the project root (the directory above the config
file's directory), as C++ does.

  cfg = load()
  cfg["kafka"]["bootstrap_servers"], cfg["redis"]["port"]
  cfg.path("spark", "checkpoint_dir"), cfg.location("lake", "dir")

  python -m adsx_jobs.config [--config FILE] show   # the lines `adsx config show` prints
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import posixpath
import re
import sys
import tomllib
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("ADSX_SOURCE_DIR", Path(__file__).resolve().parents[2]))
SCHEMA_FILE = ROOT / "config" / "adsx.schema.json"

Value = int | bool | str


class ConfigError(ValueError):
    pass


class Config(dict):
    """{section: {key: value}} with every key of the schema; `root` is the project root."""

    root: Path

    def path(self, section: str, key: str) -> Path:
        """A path key's value (already resolved against the project root)."""
        return Path(self[section][key])

    def location(self, section: str, key: str) -> str:
        """A path or a URL Spark reads and writes (s3a://…, hdfs://…), as a string."""
        return str(self[section][key])


@cache
def schema() -> dict[str, Any]:
    with open(SCHEMA_FILE) as f:
        return json.load(f)


def specs() -> list[dict[str, Any]]:
    """Every key's schema entry, in the order `adsx config show` lists them."""
    return schema()["keys"]


# ---- text as base/strings.cc treats it (ASCII whitespace and case, std::from_chars) ----------

ASCII_SPACE = " \t\n\v\f\r"
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def trim(s: str) -> str:
    return s.strip(ASCII_SPACE)


def ascii_lower(s: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def parse_int(s: str) -> int | None:
    """An optional '-' and decimal digits within int64, surrounding whitespace ignored."""
    t = trim(s)
    if not re.fullmatch(r"-?[0-9]+", t):
        return None
    v = int(t)
    return v if INT64_MIN <= v <= INT64_MAX else None


def json_quote(s: str) -> str:
    def escape(c: str) -> str:
        return JSON_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if c < " " else c)

    return '"' + "".join(escape(c) for c in s) + '"'


def show(v: Value | float) -> str:
    """A value as `adsx config show` prints it: integers and booleans bare, strings quoted."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):  # as fmt prints a double: 7.0 -> 7
        return repr(v).removesuffix(".0")
    return str(v) if isinstance(v, int) else json_quote(v)


# ---- the named formats (src/adsx/config/rules.cc) ----------------------------------------------


def non_empty(v: str) -> str | None:
    return "must not be empty" if not trim(v) else None


def host_port_list(v: str) -> str | None:
    if not trim(v):
        return "must list at least one host:port"
    for part in v.split(","):
        hp = trim(part)
        colon = hp.rfind(":")
        if colon <= 0:
            return f"'{hp}' is not host:port"
        port = parse_int(hp[colon + 1 :])
        if port is None or not 1 <= port <= 65535:
            return f"'{hp}' has no valid port"
    return None


def duration(v: str) -> str | None:
    t = trim(v)
    digits = re.match(r"[0-9]*", t).group()
    if not digits or (parse_int(digits) or 0) <= 0 or t[len(digits) :] not in ("ms", "s", "m", "h"):
        return "must be a positive duration such as 500ms, 2s, 1m"
    return None


FORMATS: dict[str, Callable[[str], str | None]] = {
    "non_empty": non_empty,
    "host_port_list": host_port_list,
    "duration": duration,
}


def check(rule: Mapping[str, Any], v: Value) -> str | None:
    """Why `v` breaks the schema rule `rule`, or None when it is valid."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        lo, hi = rule.get("min", INT64_MIN), rule.get("max", INT64_MAX)
        return None if lo <= v <= hi else f"out of range [{lo}, {hi}]"
    if "one_of" in rule and v not in rule["one_of"]:
        return "must be one of " + "|".join(rule["one_of"])
    if "pattern" in rule and not re.fullmatch(rule["pattern"], v):
        return f"must match {rule['pattern']}"
    return FORMATS[rule["format"]](v) if "format" in rule else None


# ---- reading values ----------------------------------------------------------------------------

EXPECTED = {
    "integer": "expected an integer",
    "boolean": "expected true or false",
    "string": "expected a string",
    "path": "expected a string",
}


def from_file(spec: Mapping[str, Any], v: Any, where: str) -> Value:
    """A TOML value of the key's type, as it is: the file's types are not converted."""
    t = spec["type"]
    ok = (
        (t == "integer" and isinstance(v, int) and not isinstance(v, bool))
        or (t == "boolean" and isinstance(v, bool))
        or (t in ("string", "path") and isinstance(v, str))
    )
    if not ok:
        raise ConfigError(f"{where}: {EXPECTED[t]}, got {show(v)}")
    return v


def from_env(spec: Mapping[str, Any], text: str, where: str) -> Value:
    """Environment text converted to the key's type ("7000" -> 7000, "yes" -> True)."""
    t = spec["type"]
    if t == "integer" and (i := parse_int(text)) is not None:
        return i
    if t == "boolean":
        word = ascii_lower(trim(text))
        if word in schema()["env"]["boolean_true"]:
            return True
        if word in schema()["env"]["boolean_false"]:
            return False
    if t in ("string", "path"):
        return text
    raise ConfigError(f"{where}: {EXPECTED[t]}, got {json_quote(text)}")


Values = dict[tuple[str, str], Value]


def assign(values: Values, spec: Mapping[str, Any], v: Value, where: str) -> None:
    if (why := check(spec["validate"], v)) is not None:
        raise ConfigError(f"{where} = {show(v)}: {why}")
    values[spec["section"], spec["key"]] = v


def apply_file(values: Values, data: Mapping[str, Any], origin: str) -> None:
    """The file's keys in the order toml++ visits them (sorted), so the first error agrees."""
    by_id = {(s["section"], s["key"]): s for s in specs()}
    for section, table in sorted(data.items()):
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: '{section}' must be a [section]")
        for key, v in sorted(table.items()):
            spec = by_id.get((section, key))
            if spec is None:
                raise ConfigError(f"{origin}: unknown key {section}.{key}")
            where = f"{origin}: {section}.{key}"
            if isinstance(v, dict | list | dt.date | dt.time):
                raise ConfigError(f"{where} must be a scalar value")
            assign(values, spec, from_file(spec, v, where), where)


def apply_env(values: Values, environ: Mapping[str, str]) -> None:
    for spec in specs():
        if (text := environ.get(spec["env"])) is not None:
            where = f"{spec['env']} ({spec['section']}.{spec['key']})"
            assign(values, spec, from_env(spec, text, where), where)
    known = {spec["env"] for spec in specs()}
    for name in sorted(environ):
        if name.startswith("ADSX_") and "__" in name and name not in known:
            raise ConfigError(f"unknown configuration variable {name}")


# ---- paths, as std::filesystem treats them -----------------------------------------------------


def lexically_normal(p: str) -> str:
    """std::filesystem::path::lexically_normal on POSIX: "." and "x/.." dropped, a trailing
    separator kept ("/a/b/.." -> "/a/"), ".." above the root dropped, nothing left -> "."."""
    if not p.strip("/"):
        return p  # "" and slashes alone stay as they are
    absolute = p.startswith("/")
    names: list[str] = []
    trailing = False
    for part in p.split("/")[1 if absolute else 0 :]:
        if part in ("", "."):
            trailing = bool(names)
        elif part != "..":
            names.append(part)
            trailing = False
        elif names and names[-1] != "..":
            names.pop()
            trailing = bool(names)
        elif not absolute:
            names.append("..")
            trailing = False
    if names and names[-1] == "..":
        trailing = False
    if not names:
        return "/" if absolute else "."
    return ("/" if absolute else "") + "/".join(names) + ("/" if trailing else "")


def user_cache_dir() -> str:
    """$XDG_CACHE_HOME/adstreamx, else $HOME/.cache/adstreamx (the process's, as in C++)."""
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return posixpath.join(xdg, "adstreamx")
    return posixpath.join(os.environ.get("HOME") or "/root", ".cache", "adstreamx")


def resolve_paths(values: Values, root: str) -> None:
    for spec in specs():
        if spec["type"] != "path":
            continue
        rules, k = spec["path"], (spec["section"], spec["key"])
        p = values[k]
        if not p and rules["user_cache_when_empty"]:
            p = user_cache_dir()
        url = rules["keep_urls"] and "://" in p
        if not url and p and not p.startswith("/"):
            p = lexically_normal(posixpath.join(root, p))
        values[k] = p


def project_root(file: str) -> str:
    """The directory above the config file's directory."""
    absolute = lexically_normal(posixpath.join(os.getcwd(), file))
    return posixpath.dirname(posixpath.dirname(absolute))


# ---- loading -----------------------------------------------------------------------------------


def locate(file: str | os.PathLike | None, environ: Mapping[str, str]) -> str:
    """`file` if given, else $ADSX_CONFIG, else the first config/adsx.toml walking up from the
    working directory, then from the project this package belongs to (C++: the binary's)."""
    if file:
        return os.fspath(file)
    if environ.get("ADSX_CONFIG"):
        return environ["ADSX_CONFIG"]
    for start in (os.getcwd(), str(ROOT)):
        d = start
        while True:
            candidate = posixpath.join(d, "config", "adsx.toml")
            if os.path.isfile(candidate):
                return candidate
            if posixpath.dirname(d) == d:
                break
            d = posixpath.dirname(d)
    raise ConfigError("no config file: pass --config, set ADSX_CONFIG, or run inside the project")


def load(file: str | os.PathLike | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """The configuration of `file` (see locate) with the ADSX_* variables of `environ` (default:
    the process's) applied: every key, defaulted, typed, validated and resolved as `adsx` does.
    Raises ConfigError naming the key and where the bad value came from."""
    environ = os.environ if environ is None else environ
    origin = locate(file, environ)
    if not os.path.isfile(origin):
        raise ConfigError(f"config file {origin} does not exist")
    try:
        with open(origin, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{origin}: {e}") from None
    values: Values = {(s["section"], s["key"]): s["default"] for s in specs()}
    apply_file(values, data, origin)
    apply_env(values, environ)
    root = project_root(origin)
    resolve_paths(values, root)
    cfg = Config()
    for (section, key), v in values.items():
        cfg.setdefault(section, {})[key] = v
    cfg.root = Path(root)
    return cfg


def describe(cfg: Config) -> list[str]:
    """One line per key: `section.key = value  # description [ADSX_SECTION__KEY]`."""
    return [
        f"{s['section']}.{s['key']} = {show(cfg[s['section']][s['key']])}"
        f"  # {s['description']} [{s['env']}]"
        for s in specs()
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m adsx_jobs.config", description="The configuration the Python jobs read."
    )
    ap.add_argument("-c", "--config", help="config file (default: as `adsx` finds it)")
    commands = ap.add_subparsers(dest="command", required=True)
    commands.add_parser("show", help="every key with its effective value, as `adsx config show`")
    args = ap.parse_args(argv)
    try:
        cfg = load(args.config)
    except ConfigError as e:
        print(f"adsx_jobs.config: {e}", file=sys.stderr)
        return 2
    print(f"# root = {cfg.root}")
    print("\n".join(describe(cfg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
