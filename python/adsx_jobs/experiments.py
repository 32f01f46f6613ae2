"""Experiment assignment for the Python side (a Spark job or a notebook that must know a user's
arm): the twin of src/adsx/experiments/assignment.h, held to the same fixed vectors in
python/tests/test_experiments.py and src/adsx/experiments/tests/assignment_test.cc.

    bucket(salt, layer, user) = first 8 bytes of SHA-256(salt ␟ layer ␟ user), big-endian, mod 10,000

An experiment owns [first, first + count) of its layer's buckets, bucket("", layer, user); the
arm bucket, bucket(salt, layer, user), puts its users in the holdout or an arm (`place`).
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


def place(user: str, layer: str, salt: str, weights: list[float], first: int = 0,
          count: int = BUCKETS, holdout: int = 0) -> int | None:  # fmt: skip
    """The arm of `user` in one experiment (its index), or None when the user's layer bucket is
    outside the experiment's range or its arm bucket in the holdout."""
    b = bucket("", layer, user)
    if b < first or b >= first + count:
        return None
    return choose(bucket(salt, layer, user), weights, holdout=holdout)
