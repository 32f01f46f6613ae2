"""Shared helpers for the integration suites: find the adsx binary and run it."""

import os
import pathlib
import subprocess

import pytest

SOURCE_DIR = pathlib.Path(os.environ.get("ADSX_SOURCE_DIR", pathlib.Path(__file__).parents[2]))
BUILD_DIR = pathlib.Path(os.environ.get("ADSX_BUILD_DIR", SOURCE_DIR / "build" / "release"))
ADSX_BIN = os.environ.get("ADSX_BIN", str(BUILD_DIR / "apps" / "adsx" / "adsx"))


def run_adsx(*args: str, env: dict[str, str] | None = None, timeout: float = 300):
    """Runs `adsx ARGS` and returns the CompletedProcess (text mode, output captured)."""
    return subprocess.run(
        [ADSX_BIN, *args],
        env=env if env is not None else dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="session")
def adsx_bin() -> str:
    assert os.access(ADSX_BIN, os.X_OK), f"adsx binary not built: {ADSX_BIN}"
    return ADSX_BIN
