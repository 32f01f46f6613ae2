"""Experiment assignment for the Python side (a Spark job or a notebook that must know a user's
arm): the twin of src/adsx/experiments/assignment.h, held to the same fixed vectors in
python/tests/test_experiments.py and src/adsx/experiments/tests/assignment_test.cc.

    bucket(salt, layer, user) = first 8 bytes of SHA-256(salt ␟ layer ␟ user), big-endian, mod 10,000
"""

from __future__ import annotations

import hashlib
import math

BUCKETS = 10_000


def bucket(salt: str, layer: str, user: str) -> int:
    digest = hashlib.sha256(f"{salt}\x1f{layer}\x1f{user}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def choose(b: int, weights: list[float], first: int = 0, count: int = BUCKETS,
           holdout: int = 0) -> int | None:  # fmt: skip
    """The arm (index into weights) of bucket `b`, or None outside [first, first + count) or in
    the holdout (its first `holdout` buckets)."""
    if not weights or b < first or b >= first + count or b - first < holdout:
        return None
    offset, in_arms, total, cumulative = b - first - holdout, count - holdout, sum(weights), 0.0
    for i, w in enumerate(weights):
        cumulative += w
        if offset < math.floor(in_arms * cumulative / total):
            return i
    return len(weights) - 1
