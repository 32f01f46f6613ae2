"""A model version as served: margin (LR weights or an XGBoost booster), the downsampling
correction and the calibration, exactly as docs/models.md specifies them. This is the Python
reference the C++ scorers are tested against (|Δp| ≤ 1e-6), and what training uses to score the
arm's previous model on new test rows.

  m = Model.load(Path("var/models/ctr/3"))   # checks the checksum and the feature spec
  p = m.predict(table)                        # calibrated probabilities, float64
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xgboost as xgb

from adsx_ml.spec import Spec, Table

LR_FORMAT = "adstreamx-lr/1"
XGB_FORMAT = "xgboost-json/1.7"
ARTIFACT = {"lr": ("lr.json", LR_FORMAT), "xgboost": ("xgboost.json", XGB_FORMAT)}
EPS = 1e-15


class ModelError(ValueError):
    """A model version that cannot be loaded: the message names the file and the problem."""


def sigmoid(m: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-m))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def correct_downsampling(p: np.ndarray, negative_rate: float) -> np.ndarray:
    """Undo negative downsampling at rate w: q = p / (p + (1 − p) / w)."""
    return p if negative_rate == 1.0 else p / (p + (1.0 - p) / negative_rate)


def calibrate(q: np.ndarray, cal: dict) -> np.ndarray:
    method = cal["method"]
    if method == "none":
        return q
    if method == "platt":
        return sigmoid(cal["a"] * logit(q) + cal["b"])
    if method == "isotonic":
        return np.interp(q, np.asarray(cal["x"]), np.asarray(cal["y"]))
    raise ValueError(f"unknown calibration method {method!r}")


@dataclass
class LinearWeights:
    """The LR artifact: standardized numerics plus a sparse table of hashed weights."""

    bias: float
    hash_bits: int
    mean: np.ndarray
    scale: np.ndarray
    weight: np.ndarray
    hashed: dict[int, float]

    def margin(self, spec: Spec, table: Table) -> np.ndarray:
        z = (spec.transformed(table) - self.mean) / self.scale
        z[np.isnan(z)] = 0.0
        m = self.bias + z @ self.weight
        h = spec.hashed_rows(table, self.hash_bits)
        if h.size and self.hashed:
            idx = np.fromiter(sorted(self.hashed), dtype=np.int64)
            w = np.array([self.hashed[i] for i in idx.tolist()], dtype=np.float64)
            pos = np.minimum(np.searchsorted(idx, h), len(idx) - 1)
            m = m + np.where(idx[pos] == h, w[pos], 0.0).sum(axis=1)
        return m

    def to_json(self, spec: Spec) -> dict:
        indices = sorted(self.hashed)
        return {
            "format": LR_FORMAT,
            "bias": self.bias,
            "hash_bits": self.hash_bits,
            "numeric": [
                {"name": n.name, "mean": float(mu), "scale": float(s), "weight": float(w)}
                for n, mu, s, w in zip(
                    spec.numeric, self.mean, self.scale, self.weight, strict=True
                )
            ],
            "hashed": {"indices": indices, "weights": [self.hashed[i] for i in indices]},
        }

    @staticmethod
    def from_json(d: dict, spec: Spec, file: Path) -> LinearWeights:
        if d.get("format") != LR_FORMAT:
            raise ModelError(f"{file}: format {d.get('format')!r}, expected {LR_FORMAT}")
        names = [n["name"] for n in d["numeric"]]
        if names != [n.name for n in spec.numeric]:
            raise ModelError(f"{file}: numeric features {names} differ from the manifest's")
        if not 1 <= d["hash_bits"] <= 30:
            raise ModelError(f"{file}: hash_bits {d['hash_bits']} outside 1..30")
        idx, w = d["hashed"]["indices"], d["hashed"]["weights"]
        if len(idx) != len(w):
            raise ModelError(f"{file}: {len(idx)} hashed indices but {len(w)} weights")
        return LinearWeights(
            bias=float(d["bias"]),
            hash_bits=int(d["hash_bits"]),
            mean=np.array([n["mean"] for n in d["numeric"]], dtype=np.float64),
            scale=np.array([n["scale"] for n in d["numeric"]], dtype=np.float64),
            weight=np.array([n["weight"] for n in d["numeric"]], dtype=np.float64),
            hashed=dict(zip(map(int, idx), map(float, w), strict=True)),
        )


def tree_margin(booster: xgb.Booster, spec: Spec, table: Table) -> np.ndarray:
    x = spec.tree_matrix(table)
    return booster.inplace_predict(x, predict_type="margin", missing=np.nan).astype(np.float64)


@dataclass
class Model:
    manifest: dict
    spec: Spec
    linear: LinearWeights | None = None
    booster: xgb.Booster | None = None

    @property
    def family(self) -> str:
        return self.manifest["family"]

    def margin(self, table: Table) -> np.ndarray:
        if self.linear is not None:
            return self.linear.margin(self.spec, table)
        return tree_margin(self.booster, self.spec, table)

    def uncalibrated(self, table: Table) -> np.ndarray:
        """The model's probability after the downsampling correction, before calibration."""
        p = sigmoid(self.margin(table))
        return correct_downsampling(p, self.manifest["downsampling"]["negative_rate"])

    def predict(self, table: Table) -> np.ndarray:
        return calibrate(self.uncalibrated(table), self.manifest["calibration"])

    @staticmethod
    def load(directory: Path) -> Model:
        manifest_file = directory / "model.json"
        try:
            manifest = json.loads(manifest_file.read_text())
            spec = Spec.from_json(manifest["features"])
            file, fmt = ARTIFACT[manifest["family"]]
            declared = manifest["artifact"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"{manifest_file}: {e!r}") from None
        if declared.get("file") != file or declared.get("format") != fmt:
            raise ModelError(
                f"{manifest_file}: artifact {declared} does not fit {manifest['family']}"
            )
        artifact = directory / file
        if not artifact.is_file():
            raise ModelError(f"{artifact}: missing")
        if sha256(artifact) != declared["sha256"]:
            raise ModelError(f"{artifact}: checksum differs from the manifest's")
        if manifest["family"] == "lr":
            try:
                d = json.loads(artifact.read_text())
            except ValueError as e:
                raise ModelError(f"{artifact}: {e}") from None
            return Model(manifest, spec, linear=LinearWeights.from_json(d, spec, artifact))
        booster = xgb.Booster(params={"nthread": 1})
        booster.load_model(str(artifact))
        if booster.feature_names != spec.tree_feature_names:
            raise ModelError(f"{artifact}: booster features differ from the manifest's")
        return Model(manifest, spec, booster=booster)


def sha256_of(data: bytes) -> str:
    """The manifest's artifact.sha256 of an artifact still in memory."""
    return hashlib.sha256(data).hexdigest()


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
