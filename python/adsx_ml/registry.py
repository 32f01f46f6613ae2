"""The model registry on disk (docs/models.md): {registry}/{name}/{version}/ holds one model
version, {registry}/{name}/current/{arm} names the version serving an experiment arm. Versions
are written under a temporary name and renamed into place; pointers are replaced by rename, so a
reader (the C++ service hot-reloading) sees a whole version or none.

  v = next_version(root, "ctr")
  publish(root, "ctr", v, files={"lr.json": ..., "model.json": ...})
  point(root, "ctr", "control", v);  current(root, "ctr", "control") -> v
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
ARM = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def versions(root: Path, name: str) -> list[int]:
    d = root / name
    if not d.is_dir():
        return []
    return sorted(int(p.name) for p in d.iterdir() if p.name.isdigit() and p.is_dir())


def next_version(root: Path, name: str) -> int:
    """One more than any version ever published, including ones mid-write (".tmp-*")."""
    d = root / name
    seen = versions(root, name)
    if d.is_dir():
        seen += [
            int(p.name.split("-")[1]) for p in d.glob(".tmp-*-*") if p.name.split("-")[1].isdigit()
        ]
    return max(seen, default=0) + 1


def publish(root: Path, name: str, version: int, files: dict[str, bytes | str]) -> Path:
    if not NAME.match(name):
        raise ValueError(f"model name {name!r}: lower-case letters, digits and _ only")
    parent = root / name
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=parent))
    try:
        for file, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            (tmp / file).write_bytes(data)
        os.chmod(tmp, 0o755)
        final = parent / str(version)
        os.rename(tmp, final)  # fails if the version exists: versions are never reused
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def current(root: Path, name: str, arm: str) -> int | None:
    f = root / name / "current" / arm
    try:
        return int(f.read_text().strip())
    except FileNotFoundError:
        return None


def point(root: Path, name: str, arm: str, version: int) -> None:
    if not ARM.match(arm):
        raise ValueError(f"arm {arm!r}: letters, digits, '.', '_' and '-' only")
    if not (root / name / str(version) / "model.json").is_file():
        raise FileNotFoundError(f"{root / name / str(version)}: no such model version")
    d = root / name / "current"
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".{arm}.tmp"
    tmp.write_text(f"{version}\n")
    os.replace(tmp, d / arm)
