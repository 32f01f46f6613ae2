"""What the Python unit suites share: one local Spark session for all of them (no stack)."""

import pytest

from adsx_jobs import config
from adsx_jobs.spark import session


@pytest.fixture(scope="session")
def spark():
    s = session(config.load(), "adsx-python-tests")
    yield s
    s.stop()
