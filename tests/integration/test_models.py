"""Ranking models end to end (issue #6): generated events → lake → daily features → a
point-in-time training set → LR and XGBoost trained, evaluated and registered → scored by the
C++ scorers (`adsx model score`) exactly as Python scores them.

ADSX_IT_MODEL_EVENTS and ADSX_IT_MODEL_DAYS set the data (default 600k events over 4 days; the
training set holds the impressions of the whole days but the first)."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import uuid

import jsonschema
import numpy as np
import pytest
from conftest import (
    SOURCE_DIR,
    delete_topic,
    drop_lake_checkpoints,
    lake_last_day,
    run_adsx,
    run_job,
)

from adsx_jobs import config
from adsx_ml import data
from adsx_ml.model import Model, sha256

EVENTS = int(os.environ.get("ADSX_IT_MODEL_EVENTS", "600000"))
DAYS = int(os.environ.get("ADSX_IT_MODEL_DAYS", "4"))
CRITEO = SOURCE_DIR.parent / "shared" / "data" / "criteo_sample.csv"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    suffix = uuid.uuid4().hex[:8]
    topic = f"it.models.{suffix}"
    work = tmp_path_factory.mktemp("models")
    lake, reg = work / "lake", work / "registry"
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic)
    try:
        gen = run_adsx("generate", "--events", str(EVENTS), "--days", str(DAYS), "--seed", "41",
                       env=env, timeout=900)  # fmt: skip
        assert gen.returncode == 0, gen.stderr[-2000:]
        run_job(env, "adsx_jobs.lake", "--topic", topic, "--available-now", "--lake", str(lake))
        last = lake_last_day(lake)
        # Impressions of every whole day but the first (whose batch features would be empty).
        first_day = last - datetime.timedelta(days=DAYS - 2)
        last_day = last - datetime.timedelta(days=1)
        for k in range(DAYS - 2):
            d = first_day + datetime.timedelta(days=k - 1)
            run_job(env, "adsx_jobs.daily", "--date", str(d), "--lake", str(lake))
        run_job(env, "adsx_jobs.training_set", "--from", str(first_day), "--to", str(last_day),
                "--conversion-window-h", "6", "--name", "it", "--lake", str(lake))  # fmt: skip
        manifest = lake / "training" / "it" / "manifest.json"
        report = work / "report.json"
        out = run_job(env, "adsx_ml.train", "--training-set", str(manifest),
                      "--registry", str(reg), "--report", str(report))  # fmt: skip
        print(out.stdout)
        yield {"env": env, "registry": reg, "manifest": manifest, "work": work,
               "report": json.loads(report.read_text()), "stdout": out.stdout}  # fmt: skip
    finally:
        delete_topic(topic)
        drop_lake_checkpoints(topic)


def head(report: list[dict], name: str) -> dict:
    return next(h for h in report if h["head"] == name)


def test_xgboost_beats_lr_and_both_beat_the_base_rate(trained):
    ctr = head(trained["report"], "ctr")
    by_family = {m["family"]: m["metrics"]["test"] for m in ctr["models"]}
    lr, trees = by_family["lr"], by_family["xgboost"]
    assert lr["positives"] > 500, lr
    assert trees["log_loss"] < lr["log_loss"], (trees, lr)
    for m in (lr, trees):
        assert m["log_loss"] < m["base_rate_log_loss"]
        assert m["normalized_entropy"] < 1
        assert 0.9 <= m["calibration_ratio"] <= 1.1, m
        assert set(m["by_device"]) >= {"ios", "android", "desktop"}
    assert ctr["promoted"] is not None
    # The evaluation table is printed, and every version has its reliability plot.
    assert "ctr base rate" in trained["stdout"]
    schema = jsonschema.Draft202012Validator(
        json.loads((SOURCE_DIR / "schemas" / "model.schema.json").read_text())
    )
    for m in ctr["models"]:
        d = trained["registry"] / "ctr" / str(m["version"])
        assert (d / "reliability.svg").read_text().startswith("<svg")
        schema.validate(json.loads((d / "model.json").read_text()))


def score_cpp(model_dir, rows_file) -> np.ndarray:
    r = run_adsx("model", "score", "--model", str(model_dir), "--rows", str(rows_file))
    assert r.returncode == 0, r.stderr
    return np.array([float(x) for x in r.stdout.split()])


def assert_parity(model_dir, table, rows_file):
    model = Model.load(model_dir)
    data.write_rows(rows_file, table, model.spec)
    theirs = model.predict(table)
    ours = score_cpp(model_dir, rows_file)
    assert len(ours) == len(theirs)
    worst = float(np.max(np.abs(ours - theirs)))
    assert worst <= 1e-6, f"{model_dir}: C++ and Python differ by up to {worst:g}"
    assert np.std(theirs) > 0  # the rows exercise the model


def test_cpp_scores_equal_python(trained, tmp_path):
    rows = data.training_set(trained["manifest"], data.catalog_categories(config.load()))
    n = len(rows.labels["clicked"])
    table = {k: v[n - 5000 :] for k, v in rows.table.items()}
    checked = 0
    for h in trained["report"]:
        for m in h["models"]:
            d = trained["registry"] / m["name"] / str(m["version"])
            assert_parity(d, table, tmp_path / f"{m['name']}-{m['version']}.jsonl")
            checked += 1
    assert checked >= 2


def test_corrupt_or_mismatched_artifacts_fail_to_load(trained, tmp_path):
    ctr = head(trained["report"], "ctr")
    src = trained["registry"] / "ctr" / str(ctr["models"][0]["version"])  # the LR
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"device": "ios"}\n')

    corrupt = tmp_path / "corrupt"
    shutil.copytree(src, corrupt)
    artifact = bytearray((corrupt / "lr.json").read_bytes())
    at = artifact.index(b'"bias": ') + len(b'"bias": ') + 1  # a digit of the bias
    artifact[at] = ord("1") if artifact[at] != ord("1") else ord("2")
    (corrupt / "lr.json").write_bytes(artifact)
    r = run_adsx("model", "score", "--model", str(corrupt), "--rows", str(rows))
    assert r.returncode == 1 and "checksum" in r.stderr.lower(), r.stderr

    mismatched = tmp_path / "mismatched"
    shutil.copytree(src, mismatched)
    manifest = json.loads((mismatched / "model.json").read_text())
    manifest["features"]["numeric"][0]["name"] = "not_a_feature"
    manifest["artifact"]["sha256"] = sha256(mismatched / "lr.json")
    (mismatched / "model.json").write_text(json.dumps(manifest))
    r = run_adsx("model", "score", "--model", str(mismatched), "--rows", str(rows))
    assert r.returncode == 1 and "not_a_feature" in r.stderr, r.stderr


def test_promotion_is_refused_when_the_new_model_is_worse(trained, tmp_path):
    reg = trained["registry"]
    before = (reg / "ctr" / "current" / "control").read_text()
    report = tmp_path / "again.json"
    # Demanding a 50% better log loss than the arm's model: a retrain cannot deliver that (on
    # 5% of the negatives, to keep the suite short: the refusal is what this test is about).
    out = run_job(trained["env"], "adsx_ml.train", "--training-set", str(trained["manifest"]),
                  "--registry", str(reg), "--heads", "ctr", "--max-regression", "-0.5",
                  "--negative-rate", "0.05", "--report", str(report))  # fmt: skip
    again = head(json.loads(report.read_text()), "ctr")
    assert again["promoted"] is None
    assert (reg / "ctr" / "current" / "control").read_text() == before
    comparison = next(m["comparison"] for m in again["models"] if m["comparison"])
    assert comparison["previous_version"] == int(before)
    assert "worse than the previous" in comparison["reason"]
    assert "not promoted" in out.stdout
    listing = run_adsx("model", "list", "--registry", str(reg))
    assert listing.returncode == 0 and "control" in listing.stdout, listing.stderr
    show = run_adsx("model", "show", "ctr", "--arm", "control", "--registry", str(reg))
    assert show.returncode == 0, show.stderr
    assert f"model         ctr version {int(before)} " in show.stdout, show.stdout


def test_a_rerun_with_once_leaves_the_registry_as_it_is(trained):
    """What the daily orchestration relies on (python/dags): training the same day again
    registers nothing and moves no pointer."""
    reg = trained["registry"]

    def files() -> dict[str, bytes]:
        return {str(p.relative_to(reg)): p.read_bytes() for p in reg.rglob("*") if p.is_file()}

    before = files()
    out = run_job(trained["env"], "adsx_ml.train", "--training-set", str(trained["manifest"]),
                  "--registry", str(reg), "--once")  # fmt: skip
    assert files() == before
    assert "kept as they are (--once)" in out.stderr + out.stdout


@pytest.mark.skipif(not CRITEO.exists(), reason=f"{CRITEO} is absent (outside this project's CI)")
def test_criteo_model_scores_equal_in_cpp(tmp_path):
    env = dict(os.environ)
    run_job(env, "adsx_ml.train", "--criteo", str(CRITEO), "--folds", "3", "--register",
            "--registry", str(tmp_path / "reg"))  # fmt: skip
    rows = data.criteo(CRITEO)
    assert_parity(tmp_path / "reg" / "criteo_ctr" / "1", rows.table, tmp_path / "criteo.jsonl")
