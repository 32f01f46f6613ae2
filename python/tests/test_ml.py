"""Proves adsx_ml's encodings and scoring math: sorted vocabularies of frequent values, float32
tree codes with NaN for missing, hashed indices by the shared xxh64 contract; LR margins,
downsampling correction, calibration, metrics and model predictions against hand-computed values;
a fitted calibration removing a bias; loading refused on a bad checksum, features or manifest;
registry versions never reused (and, given the Criteo sample, LR beating the base rate)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import xxhash

from adsx_jobs.config import ROOT
from adsx_ml import fit, metrics, registry
from adsx_ml.model import (
    LinearWeights,
    Model,
    ModelError,
    calibrate,
    correct_downsampling,
    sha256,
    sigmoid,
)
from adsx_ml.spec import Categorical, Numeric, Spec


def small_table():
    return {
        "clicks": np.array([0.0, 3.0, np.nan, 1.0]),
        "ctr": np.array([0.1, 0.0, 0.5, np.nan]),
        "device": np.array(["ios", "android", None, "ios"], dtype=object),
        "slot": np.array(["1", "2", "2", "9"], dtype=object),
    }


def small_spec():
    return Spec(
        (Numeric("clicks", "log1p"), Numeric("ctr")),
        (Categorical("device", ("android", "ios")), Categorical("slot", ("1", "2"))),
        (("device", "slot"),),
    )


def test_infer_keeps_frequent_values_sorted():
    t = {"d": np.array(["b"] * 5 + ["a"] * 6 + ["z"] * 2 + [None] * 9, dtype=object)}
    spec = Spec.infer(t, [], ["d"], min_count=5)
    assert spec.categorical[0].vocab == ("a", "b")


def test_tree_matrix_codes_and_missing():
    x = small_spec().tree_matrix(small_table())
    assert x.dtype == np.float32
    assert x[1].tolist()[:2] == [3.0, 0.0]
    assert math.isnan(x[2, 0])
    assert x[:, 2].tolist()[:2] == [1.0, 0.0]  # ios = 1, android = 0
    assert math.isnan(x[2, 2]) and math.isnan(x[3, 3])  # missing device; slot 9 not in vocab


def test_hashed_rows_follow_the_contract():
    bits = 12
    h = small_spec().hashed_rows(small_table(), bits)

    def b(s):
        return xxhash.xxh64_intdigest(s.encode(), seed=0) & ((1 << bits) - 1)

    assert h[0].tolist() == [b("device=ios"), b("slot=1"), b("device=ios\x1fslot=1")]
    assert h[2, 0] == b("device=")  # missing is the empty string
    assert xxhash.xxh64_intdigest(b"device=ios") == 18320817511764000820  # shared golden value


def test_spec_rejects_bad_crosses_repeats_and_bad_vocabularies():
    with pytest.raises(ValueError, match="cross"):
        Spec((Numeric("x"),), (), (("x", "y"),)).check()
    with pytest.raises(ValueError, match="repeat"):
        Spec((Numeric("x"),), (Categorical("x"),)).check()
    for vocab in (("a", "a"), ("", "b")):
        with pytest.raises(ValueError, match="vocab"):
            Spec((), (Categorical("c", vocab),)).check()


def test_lr_margin_by_hand():
    spec = small_spec()
    bits = 8
    t = small_table()
    h = spec.hashed_rows(t, bits)
    w = LinearWeights(
        bias=-1.0,
        hash_bits=bits,
        mean=np.array([0.5, 0.1]),
        scale=np.array([2.0, 0.5]),
        weight=np.array([0.3, -0.7]),
        hashed={int(h[0, 0]): 0.25, int(h[0, 2]): -0.125},
    )
    m = w.margin(spec, t)
    # row 0: clicks 0 -> log1p 0 -> z = (0 - 0.5)/2; ctr 0.1 -> z = 0; ios and ios×1 weights
    expected0 = -1.0 + 0.3 * (-0.25) + 0.0 + 0.25 - 0.125
    assert m[0] == pytest.approx(expected0, abs=1e-15)
    # row 2: clicks missing -> 0 contribution; ctr 0.5 -> z = 0.8
    extra = 0.25 if h[2, 0] == h[0, 0] else 0.0
    assert m[2] == pytest.approx(-1.0 - 0.7 * 0.8 + extra, abs=1e-12)


def test_downsampling_correction_recovers_the_rate():
    rate, w = 0.02, 0.25
    seen = rate / (rate + (1 - rate) * w)  # the positive rate after keeping a quarter of negatives
    assert correct_downsampling(np.array([seen]), w)[0] == pytest.approx(rate, rel=1e-12)
    assert correct_downsampling(np.array([0.3]), 1.0)[0] == 0.3


def test_calibrations():
    q = np.array([0.0, 0.05, 0.1, 0.5, 0.9])
    iso = {"method": "isotonic", "x": [0.05, 0.5], "y": [0.01, 0.2]}
    assert calibrate(q, iso).tolist() == pytest.approx(
        [0.01, 0.01, 0.01 + 0.19 * 0.05 / 0.45, 0.2, 0.2]
    )
    platt = {"method": "platt", "a": 1.0, "b": 0.0}
    assert calibrate(np.array([0.3]), platt)[0] == pytest.approx(0.3)
    assert calibrate(q, {"method": "none"}) is q


def test_fitted_calibration_fixes_a_biased_model():
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.01, 0.2, 200_000)
    y = (rng.random(len(truth)) < truth).astype(np.int64)
    biased = np.clip(truth * 1.8, 0, 1)
    for method in ("platt", "isotonic"):
        cal = fit.fit_calibration(biased, y, method)
        p = calibrate(biased, cal)
        assert metrics.calibration_ratio(y, p) == pytest.approx(1.0, abs=0.02)
    assert fit.fit_calibration(biased[:500], y[:500], "auto")["method"] == "none"


def test_metrics():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.4, 0.35, 0.8])
    assert metrics.auc(y, p) == 0.75
    assert metrics.auc(np.zeros(3), np.ones(3) * 0.1) is None
    assert metrics.log_loss(y, p) == pytest.approx(
        -(math.log(0.9) + math.log(0.6) + math.log(0.35) + math.log(0.8)) / 4
    )
    base = metrics.evaluate(y, np.full(4, 0.5), 0.5)
    assert base["normalized_entropy"] == pytest.approx(1.0)
    assert metrics.calibration_ratio(y, p) == pytest.approx(1.65 / 2)
    svg = metrics.reliability_svg({"m": metrics.reliability(y, p, bins=2)}, "t")
    assert svg.startswith("<svg") and "<polyline" in svg


def write_lr_version(root: Path, name: str, version: int, spec: Spec, w: LinearWeights):
    artifact = json.dumps(w.to_json(spec))
    (root / "scratch").write_text(artifact)
    manifest = {
        "schema_version": 1,
        "name": name,
        "version": version,
        "family": "lr",
        "features": spec.to_json(),
        "artifact": {
            "file": "lr.json",
            "format": "adstreamx-lr/1",
            "sha256": sha256(root / "scratch"),
        },
        "downsampling": {"negative_rate": 0.5},
        "calibration": {"method": "platt", "a": 0.9, "b": -0.1},
    }
    return registry.publish(
        root, name, version, {"lr.json": artifact, "model.json": json.dumps(manifest)}
    )


def lr_weights():
    return LinearWeights(
        -2.0, 10, np.array([0.0, 0.0]), np.array([1.0, 1.0]), np.array([0.5, 1.0]), {3: 0.5}
    )


def test_model_load_and_predict(tmp_path):
    spec = small_spec()
    d = write_lr_version(tmp_path, "ctr", 1, spec, lr_weights())
    m = Model.load(d)
    t = small_table()
    p = correct_downsampling(sigmoid(lr_weights().margin(spec, t)), 0.5)
    expected = sigmoid(0.9 * np.log(p / (1 - p)) - 0.1)
    assert m.predict(t) == pytest.approx(expected, abs=1e-15)


def test_model_load_refuses_corrupt_or_mismatched(tmp_path):
    spec = small_spec()
    d = write_lr_version(tmp_path, "ctr", 1, spec, lr_weights())
    (d / "lr.json").write_text((d / "lr.json").read_text().replace("-2.0", "-3.0"))
    with pytest.raises(ModelError, match="checksum"):
        Model.load(d)
    other = Spec((Numeric("clicks", "log1p"), Numeric("other")), spec.categorical, spec.crosses)
    d2 = write_lr_version(tmp_path, "ctr", 2, other, lr_weights())
    manifest = json.loads((d2 / "model.json").read_text())
    manifest["features"] = spec.to_json()
    (d2 / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelError, match="differ"):
        Model.load(d2)
    (d2 / "model.json").write_text("{not json")
    with pytest.raises(ModelError, match="model.json"):
        Model.load(d2)


def test_registry_versions_and_pointers(tmp_path):
    spec = small_spec()
    assert registry.next_version(tmp_path, "ctr") == 1
    write_lr_version(tmp_path, "ctr", 1, spec, lr_weights())
    assert registry.next_version(tmp_path, "ctr") == 2
    with pytest.raises(OSError):
        write_lr_version(tmp_path, "ctr", 1, spec, lr_weights())  # never reused
    assert registry.current(tmp_path, "ctr", "control") is None
    registry.point(tmp_path, "ctr", "control", 1)
    assert registry.current(tmp_path, "ctr", "control") == 1
    with pytest.raises(FileNotFoundError):
        registry.point(tmp_path, "ctr", "control", 7)
    assert registry.versions(tmp_path, "ctr") == [1]
    assert not list((tmp_path / "ctr").glob(".tmp-*"))


def test_a_run_with_once_finds_the_versions_trained_from_the_same_set_and_settings(tmp_path):
    from argparse import Namespace

    from adsx_ml import train

    manifest = tmp_path / "manifest.json"
    manifest.write_text('{"name": "daily-2026-12-05", "rows": 1000}')
    args = Namespace(training_set=str(manifest), negative_rate=None, calibration="auto",
                     hash_bits=18, seed=7, max_regression=0.01, arm="control")  # fmt: skip
    fp = train.fingerprint(args)
    assert fp == train.fingerprint(args)
    assert train.fingerprint(Namespace(**{**vars(args), "seed": 8})) != fp
    root = tmp_path / "registry"
    for version, trained in ((1, "another"), (2, fp), (3, fp)):
        d = root / "ctr" / str(version)
        d.mkdir(parents=True)
        (d / "model.json").write_text(json.dumps({"training": {"fingerprint": trained}}))
    assert train.trained_from(root, "ctr", fp) == [2, 3]
    assert train.trained_from(root, "cvr", fp) == []
    manifest.write_text('{"name": "daily-2026-12-05", "rows": 1001}')  # the set changed
    assert train.trained_from(root, "ctr", train.fingerprint(args)) == []


CRITEO = ROOT.parent / "shared" / "data" / "criteo_sample.csv"  # beside the checkout


@pytest.mark.skipif(not CRITEO.exists(), reason=f"{CRITEO} is absent (outside this project's CI)")
def test_criteo_lr_beats_the_base_rate(tmp_path):
    from adsx_ml import train

    report = tmp_path / "criteo.json"
    assert train.main(["--criteo", str(CRITEO), "--folds", "5", "--registry", str(tmp_path),
                       "--register", "--report", str(report)]) == 0  # fmt: skip
    cv = json.loads(report.read_text())["cross_validation"]
    assert cv["lr"]["log_loss"]["mean"] < cv["base_rate"]["log_loss"]["mean"]
    assert cv["lr"]["auc"]["mean"] > 0.55
    m = Model.load(tmp_path / "criteo_ctr" / "1")
    assert m.manifest["metrics"]["test"]["cross_validation"] == cv
    schema = json.loads((ROOT / "schemas" / "model.schema.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(m.manifest)
