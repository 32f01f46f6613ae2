"""The project configuration for Python: config/adsx.toml plus ADSX_SECTION__KEY environment
overrides, the same file and the same rules as the C++ side (src/adsx/config), which also
validates every key (`adsx config check`). Values keep the TOML file's types: an override of an
integer key must be an integer.

  cfg = load()
  cfg["kafka"]["bootstrap_servers"], cfg.path("spark", "checkpoint_dir")
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

ROOT = Path(os.environ.get("ADSX_SOURCE_DIR", Path(__file__).resolve().parents[2]))


class ConfigError(ValueError):
    pass


class Config(dict):
    root: Path

    def path(self, section: str, key: str) -> Path:
        """A path value; relative ones are relative to the project root."""
        p = Path(self[section][key])
        return p if p.is_absolute() else (self.root / p)

    def location(self, section: str, key: str) -> str:
        """A path or a URL Spark reads and writes (s3a://…, hdfs://…), as a string."""
        v = self[section][key]
        return v if "://" in v else str(self.path(section, key))


def load(file: Path | None = None, environ: dict[str, str] | None = None) -> Config:
    file = file or Path(os.environ.get("ADSX_CONFIG", ROOT / "config" / "adsx.toml"))
    environ = os.environ if environ is None else environ
    with open(file, "rb") as f:
        data = tomllib.load(f)
    cfg = Config(data)
    cfg.root = ROOT
    for name, value in environ.items():
        if not name.startswith("ADSX_") or "__" not in name:
            continue
        section, key = name[len("ADSX_") :].lower().split("__", 1)
        if section not in cfg or key not in cfg[section]:
            # The C++ side rejects these; keys it has and the file lacks are not read here.
            continue
        current = cfg[section][key]
        if isinstance(current, bool):
            if value not in ("true", "false"):
                raise ConfigError(f"{name}={value!r}: expected true or false")
            cfg[section][key] = value == "true"
        elif isinstance(current, int):
            try:
                cfg[section][key] = int(value)
            except ValueError:
                raise ConfigError(f"{name}={value!r}: expected an integer") from None
        else:
            cfg[section][key] = value
    return cfg
