"""Feature spec and the two encodings of a row (docs/models.md is the contract; the C++ scorers
in src/adsx/ranking and src/adsx/xgb implement the same rules).

A table is a dict of equal-length columns: numeric features as float64 arrays (NaN = missing),
categorical features as object arrays of str or None (None = missing, the same as "").

  spec = Spec.infer(table, numeric=[...], categorical=[...], crosses=[("device", "category")])
  x = spec.tree_matrix(table)           # float32: raw numerics, then vocabulary codes
  h = spec.hashed_rows(table, bits=18)  # int64 bucket per row and categorical/cross term
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash

TRANSFORMS = ("none", "log1p")
CROSS_SEP = "\x1f"

Table = dict[str, np.ndarray]


@dataclass(frozen=True)
class Numeric:
    name: str
    transform: str = "none"


@dataclass(frozen=True)
class Categorical:
    name: str
    vocab: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    numeric: tuple[Numeric, ...]
    categorical: tuple[Categorical, ...]
    crosses: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @staticmethod
    def infer(
        table: Table,
        numeric: Iterable[Numeric],
        categorical: Iterable[str],
        crosses: Iterable[tuple[str, str]] = (),
        min_count: int = 5,
        max_vocab: int = 256,
    ) -> Spec:
        """The vocabularies of the tree encoding, learnt from the training rows: values seen at
        least min_count times, the max_vocab most frequent, sorted so that ordered values
        ("00".."23") keep their order as codes."""
        cats = []
        for name in categorical:
            counts = Counter(v for v in table[name] if v)
            kept = [v for v, n in counts.most_common(max_vocab) if n >= min_count]
            cats.append(Categorical(name, tuple(sorted(kept))))
        spec = Spec(tuple(numeric), tuple(cats), tuple(tuple(c) for c in crosses))
        spec.check()
        return spec

    def check(self) -> None:
        names = [n.name for n in self.numeric] + [c.name for c in self.categorical]
        if len(set(names)) != len(names):
            raise ValueError(f"feature names repeat: {names}")
        for n in self.numeric:
            if n.transform not in TRANSFORMS:
                raise ValueError(f"{n.name}: unknown transform {n.transform!r}")
        for c in self.categorical:
            if "" in c.vocab or len(set(c.vocab)) != len(c.vocab):
                raise ValueError(f"{c.name}: a vocab holds distinct, non-empty values")
        cat_names = {c.name for c in self.categorical}
        for a, b in self.crosses:
            if a not in cat_names or b not in cat_names:
                raise ValueError(f"cross {a}×{b} names a feature that is not categorical")

    @property
    def tree_feature_names(self) -> list[str]:
        return [n.name for n in self.numeric] + [c.name for c in self.categorical]

    def to_json(self) -> dict:
        return {
            "numeric": [{"name": n.name, "transform": n.transform} for n in self.numeric],
            "categorical": [{"name": c.name, "vocab": list(c.vocab)} for c in self.categorical],
            "crosses": [list(c) for c in self.crosses],
        }

    @staticmethod
    def from_json(d: dict) -> Spec:
        spec = Spec(
            tuple(Numeric(n["name"], n["transform"]) for n in d["numeric"]),
            tuple(Categorical(c["name"], tuple(c["vocab"])) for c in d["categorical"]),
            tuple((a, b) for a, b in d["crosses"]),
        )
        spec.check()
        return spec

    # -- the tree encoding ------------------------------------------------------------------

    def tree_matrix(self, table: Table) -> np.ndarray:
        rows = _rows(table)
        x = np.empty((rows, len(self.numeric) + len(self.categorical)), dtype=np.float32)
        for i, n in enumerate(self.numeric):
            x[:, i] = np.asarray(table[n.name], dtype=np.float64)
        for j, c in enumerate(self.categorical):
            code = {v: float(k) for k, v in enumerate(c.vocab)}
            x[:, len(self.numeric) + j] = [code.get(v or "", np.nan) for v in table[c.name]]
        return x

    # -- the LR encoding --------------------------------------------------------------------

    def transformed(self, table: Table) -> np.ndarray:
        """Numeric features after their transform, float64, NaN kept (the caller standardizes)."""
        rows = _rows(table)
        z = np.empty((rows, len(self.numeric)), dtype=np.float64)
        for i, n in enumerate(self.numeric):
            v = np.asarray(table[n.name], dtype=np.float64)
            z[:, i] = np.log1p(np.maximum(v, 0.0)) if n.transform == "log1p" else v
        return z

    def hash_terms(self) -> list[str]:
        """Names of the hashed terms in order: each categorical feature, then each cross."""
        return [c.name for c in self.categorical] + [f"{a}×{b}" for a, b in self.crosses]

    def hashed_rows(self, table: Table, bits: int) -> np.ndarray:
        """int64 matrix rows × hash_terms(): each term's bucket h(s) = XXH64(s) & (2^bits − 1)."""
        mask = (1 << bits) - 1
        rows = _rows(table)
        out = np.empty((rows, len(self.categorical) + len(self.crosses)), dtype=np.int64)
        values = {c.name: table[c.name] for c in self.categorical}
        for j, c in enumerate(self.categorical):
            out[:, j] = [bucket(f"{c.name}={v or ''}", mask) for v in values[c.name]]
        base = len(self.categorical)
        for k, (a, b) in enumerate(self.crosses):
            out[:, base + k] = [
                bucket(f"{a}={va or ''}{CROSS_SEP}{b}={vb or ''}", mask)
                for va, vb in zip(values[a], values[b], strict=True)
            ]
        return out


def bucket(s: str, mask: int) -> int:
    return xxhash.xxh64_intdigest(s.encode(), seed=0) & mask


def _rows(table: Table) -> int:
    lengths = {len(v) for v in table.values()}
    if len(lengths) != 1:
        raise ValueError(f"columns differ in length: {sorted(lengths)}")
    return lengths.pop()


def take(table: Table, index: np.ndarray | Sequence[int]) -> Table:
    """The rows at index (a boolean mask or positions) of every column."""
    return {k: v[index] for k, v in table.items()}
