"""Train, evaluate, register and promote ranking models (issue #6).

  .venv/bin/python -m adsx_ml.train --training-set var/lake/training/demo/manifest.json
  .venv/bin/python -m adsx_ml.train --criteo ../shared/data/criteo_sample.csv --folds 5

For a training set, each head (ctr: clicked among impressions; cvr: converted among clicks)
gets two models, logistic regression and XGBoost, on a time-based split: the last impression
day is the test set (the last quarter of the rows when the set spans one day); of the rows
before it, a seeded fifth is held out for the validation that picks LR's regularisation,
stops the boosting, and fits the calibration. Negatives of the training rows
are downsampled (--negative-rate) and the probabilities corrected back, q = p/(p+(1−p)/w).

Both models are registered as new versions of the head ({registry}/{head}/{version}); the
better of the two on test log loss is then compared with the version the arm serves, scored on
the same test rows, and promoted unless its log loss is worse by more than --max-regression.

For a Criteo CSV: k-fold cross-validated AUC and log loss of LR, XGBoost and the base rate;
--register also registers the LR trained on every row as model `criteo_ctr`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from adsx_jobs import config as adsx_config
from adsx_ml import data, fit, metrics, registry
from adsx_ml.model import ARTIFACT, Model, sha256_of
from adsx_ml.spec import Spec, Table, take

HEADS = {"ctr": "clicked", "cvr": "converted"}
MIN_POSITIVES = 20


def log(msg: str) -> None:
    print(msg, flush=True)


# -- splitting -------------------------------------------------------------------------------


def time_split(time_ms: np.ndarray, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions of train, validation and test rows; rows are in event-time order. The test
    rows come after every other (the last day); validation is a seeded fifth of the rows
    before them, spread over their hours: a time tail (the evening) would fit the calibration
    to one part of the day (measured: calibration ratio 1.11 on the next day, against 1.0x)."""
    days = (time_ms // 86_400_000).astype(np.int64)
    n = len(time_ms)
    if len(np.unique(days)) >= 2:
        first_test = int(np.searchsorted(days, days[-1]))
    else:
        first_test = int(n * 0.75)
    valid = np.random.default_rng(seed).random(first_test) < 0.2
    r = np.arange(first_test)
    return r[~valid], r[valid], np.arange(first_test, n)


# -- one model -------------------------------------------------------------------------------


def build(family: str, spec: Spec, parts: dict, w: float, args) -> dict:
    """Train one family on parts {train, valid, test: (table, y)}; return the model's pieces,
    its test predictions and its manifest fields."""
    (tr, y_tr), (va, y_va), te = parts["train"], parts["valid"], parts["test"][0]
    keep = fit.downsample(y_tr, w, args.seed)
    log(f"  {family}: {len(keep):,} training rows after downsampling negatives at {w:g}")
    if family == "lr":
        weights = fit.fit_lr(spec, take(tr, keep), y_tr[keep], va, y_va, w, args.hash_bits, log)
        model = Model({}, spec, linear=weights)
        artifact = json.dumps(weights.to_json(spec))
        importance = fit.lr_importance(weights, spec, te)
    else:
        booster = fit.fit_xgb(spec, take(tr, keep), y_tr[keep], va, y_va, args.seed, log=log)
        model = Model({}, spec, booster=booster)
        artifact = bytes(booster.save_raw("json"))
        importance = fit.xgb_importance(booster)
    model.manifest = {"downsampling": {"negative_rate": w}, "calibration": {"method": "none"}}
    cal = fit.fit_calibration(model.uncalibrated(va), y_va, args.calibration)
    model.manifest["calibration"] = cal
    return {
        "family": family,
        "model": model,
        "artifact": artifact,
        "importance": importance,
        "p_test": model.predict(te),
        "calibration": cal,
    }


def evaluation(y: np.ndarray, p: np.ndarray, base_rate: float, te: Table) -> dict:
    m = metrics.evaluate(y, p, base_rate)
    for group in ("device", "geo"):
        if group in te:
            m[f"by_{group}"] = metrics.by_group(y, p, te[group])
    return m


def manifest(name, version, head, label, built, spec, w, rows, source, time_range, test,
             fingerprint=None) -> dict:  # fmt: skip
    file, fmt = ARTIFACT[built["family"]]
    return {
        "schema_version": 1,
        "name": name,
        "version": version,
        "family": built["family"],
        "head": head,
        "label": label,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "features": spec.to_json(),
        "artifact": {"file": file, "format": fmt, "sha256": None},
        "downsampling": {"negative_rate": w},
        "calibration": built["calibration"],
        "training": {
            "source": source,
            "time_range_ms": time_range,
            "rows": rows,
            "fingerprint": fingerprint,
        },
        "metrics": {"test": test},
        "importance": built["importance"][:30],
        "comparison": None,
    }


def register(root: Path, name: str, m: dict, built: dict, reliability: list, te: Table) -> Path:
    file = m["artifact"]["file"]
    artifact = built["artifact"]
    payload = artifact.encode() if isinstance(artifact, str) else artifact
    m["artifact"]["sha256"] = sha256_of(payload)
    svg = metrics.reliability_svg(
        {f"{name} v{m['version']} ({m['family']})": reliability},
        f"{name} v{m['version']}: reliability on {m['metrics']['test']['rows']:,} test rows",
    )
    d = registry.publish(
        root,
        name,
        m["version"],
        {file: payload, "model.json": json.dumps(m, indent=2) + "\n", "reliability.svg": svg},
    )
    # What was saved must score like what was evaluated: load it back through the checks.
    again = Model.load(d).predict(te)
    worst = float(np.max(np.abs(again - built["p_test"]))) if len(again) else 0.0
    if worst > 1e-9:
        raise RuntimeError(f"{d}: reloaded model differs from the trained one by {worst:g}")
    return d


# -- one head --------------------------------------------------------------------------------


def train_head(rows: data.Rows, head: str, args, root: Path) -> dict | None:
    label = HEADS[head]
    table, y, t = rows.table, rows.labels[label], rows.time_ms
    if head == "cvr":  # p(conversion | click): clicked impressions only
        clicked = rows.labels["clicked"] == 1
        table, y, t = take(table, clicked), y[clicked], t[clicked]
    i_tr, i_va, i_te = time_split(t, args.seed)
    parts = {
        k: (take(table, i), y[i]) for k, i in (("train", i_tr), ("valid", i_va), ("test", i_te))
    }
    counts = {k: (len(v[1]), int(v[1].sum())) for k, v in parts.items()}
    log(f"{head}: " + ", ".join(f"{k} {n:,} rows ({p:,} positive)" for k, (n, p) in counts.items()))
    if min(p for _, p in counts.values()) < MIN_POSITIVES:
        log(f"{head}: skipped, fewer than {MIN_POSITIVES} positives in a split")
        return None
    spec = data.training_set_spec(parts["train"][0])
    w = args.negative_rate if args.negative_rate else (0.25 if len(i_tr) >= 50_000 else 1.0)
    base_rate = float(parts["train"][1].mean())
    te, y_te = parts["test"]
    time_range = [int(t[0]), int(t[-1])]
    row_counts = {k: n for k, (n, _) in counts.items()}

    results = []
    first_version = registry.next_version(root, head)
    for k, family in enumerate(("lr", "xgboost")):
        built = build(family, spec, parts, w, args)
        test = evaluation(y_te, built["p_test"], base_rate, te)
        top = ", ".join(f"{i['feature']} {i['importance']:.2f}" for i in built["importance"][:5])
        log(f"  {family}: most important: {top}")
        version = first_version + k
        m = manifest(head, version, head, label, built, spec, w, row_counts, rows.source,
                     time_range, test, args.fingerprint)  # fmt: skip
        results.append((m, built))
    promoted = promote(root, head, args, results, te, y_te, base_rate)
    for m, built in results:
        reliability = metrics.reliability(y_te, built["p_test"])
        d = register(root, head, m, built, reliability, te)
        log(f"  registered {d}")
    if promoted:
        registry.point(root, head, args.arm, promoted)
        log(f"  {head}/current/{args.arm} -> {promoted}")
    if args.arm_per_family:
        # One arm per family, for an experiment of the families against each other (the
        # closed loop's LR vs XGBoost): lr -> this run's LR, xgboost -> its XGBoost.
        for m, _ in results:
            registry.point(root, head, m["family"], m["version"])
            log(f"  {head}/current/{m['family']} -> {m['version']}")
    return {
        "head": head,
        "base_rate": base_rate,
        "models": [m for m, _ in results],
        "promoted": promoted,
    }


def promote(root, head, args, results, te, y_te, base_rate) -> int | None:
    """Pick the candidate with the lower test log loss and compare it with the arm's current
    model on the same rows. Returns the version to point the arm at, or None if refused."""
    m, _ = min(results, key=lambda r: r[0]["metrics"]["test"]["log_loss"])
    previous = registry.current(root, head, args.arm)
    decision = {
        "arm": args.arm,
        "previous_version": previous,
        "max_regression": args.max_regression,
    }
    if previous is None:
        decision.update(promoted=True, reason="the arm had no model")
    else:
        old = Model.load(root / head / str(previous))
        old_test = metrics.evaluate(y_te, old.predict(te), base_rate)
        limit = old_test["log_loss"] * (1 + args.max_regression)
        ok = m["metrics"]["test"]["log_loss"] <= limit
        decision.update(
            previous_test=old_test,
            promoted=ok,
            reason=("log loss within the allowed regression" if ok else
                    f"log loss {m['metrics']['test']['log_loss']:.5f} worse than the previous "
                    f"version's {old_test['log_loss']:.5f} by more than {args.max_regression:.1%}"),
        )  # fmt: skip
    m["comparison"] = decision
    if not args.promote:
        decision.update(promoted=False, reason="--no-promote")
    log(f"  candidate {head} v{m['version']} ({m['family']}): "
        f"{'promoted' if decision['promoted'] else 'not promoted'}: {decision['reason']}")  # fmt: skip
    return m["version"] if decision["promoted"] else None


# -- the evaluation table --------------------------------------------------------------------


def table_lines(report: list[dict]) -> list[str]:
    head = f"{'model':<16} {'rows':>8} {'pos':>6} {'AUC':>7} {'log loss':>9} {'NE':>7} {'calib':>6}"
    lines = [head, "-" * len(head)]

    def row(name, t):
        auc = f"{t['auc']:.4f}" if t.get("auc") is not None else "-"
        cal = f"{t['calibration_ratio']:.3f}" if t.get("calibration_ratio") is not None else "-"
        ne = t.get("normalized_entropy", float("nan"))
        return (f"{name:<16} {t['rows']:>8,} {t['positives']:>6,} {auc:>7} "
                f"{t['log_loss']:>9.5f} {ne:>7.4f} {cal:>6}")  # fmt: skip

    for h in report:
        first = h["models"][0]["metrics"]["test"]
        base = {**first, "auc": 0.5, "log_loss": first["base_rate_log_loss"],
                "normalized_entropy": 1.0, "calibration_ratio": None}  # fmt: skip
        lines.append(row(f"{h['head']} base rate", base))
        for m in h["models"]:
            star = "*" if h["promoted"] == m["version"] else ""
            lines.append(
                row(f"{h['head']} v{m['version']} {m['family']}{star}", m["metrics"]["test"])
            )
        prev = h["models"][0].get("comparison") or h["models"][1].get("comparison") or {}
        if prev.get("previous_test"):
            lines.append(
                row(f"{h['head']} v{prev['previous_version']} (was)", prev["previous_test"])
            )
    lines.append(
        "* promoted to the arm; NE = log loss ÷ base-rate log loss; calib = Σp ÷ Σpositives"
    )
    return lines


# -- Criteo ----------------------------------------------------------------------------------


def criteo_cv(rows: data.Rows, folds: int, args) -> dict:
    """Stratified k-fold cross-validation; inside each fold the last fifth of the training
    rows is the validation set that picks C and stops the boosting."""
    y = rows.labels["clicked"]
    rng = np.random.default_rng(args.seed)
    fold_of = np.empty(len(y), dtype=np.int64)
    for cls in (0, 1):
        idx = rng.permutation(np.flatnonzero(y == cls))
        fold_of[idx] = np.arange(len(idx)) % folds
    scores = {"lr": [], "xgboost": [], "base_rate": []}
    for k in range(folds):
        log(f"fold {k + 1}/{folds}")
        train_i, test_i = np.flatnonzero(fold_of != k), np.flatnonzero(fold_of == k)
        cut = int(len(train_i) * 0.8)
        parts = {
            "train": (take(rows.table, train_i[:cut]), y[train_i[:cut]]),
            "valid": (take(rows.table, train_i[cut:]), y[train_i[cut:]]),
            "test": (take(rows.table, test_i), y[test_i]),
        }
        spec = data.criteo_spec(parts["train"][0])
        base = float(y[train_i].mean())
        y_te = y[test_i]
        scores["base_rate"].append(metrics.evaluate(y_te, np.full(len(y_te), base), base))
        for family in ("lr", "xgboost"):
            built = build(family, spec, parts, 1.0, args)
            scores[family].append(metrics.evaluate(y_te, built["p_test"], base))
    return {
        name: {
            key: {"mean": float(np.mean(vals)), "std": float(np.std(vals))}
            for key in ("auc", "log_loss")
            if (vals := [s[key] for s in runs if s[key] is not None])
        }
        for name, runs in scores.items()
    }


def criteo_register(rows: data.Rows, root: Path, cv: dict, args) -> Path:
    """LR on every row (the last fifth as validation), registered as `criteo_ctr`."""
    y = rows.labels["clicked"]
    n = len(y)
    cut = int(n * 0.8)
    all_rows = np.arange(n)
    parts = {
        "train": (take(rows.table, all_rows[:cut]), y[:cut]),
        "valid": (take(rows.table, all_rows[cut:]), y[cut:]),
        "test": (rows.table, y),
    }
    spec = data.criteo_spec(parts["train"][0])
    built = build("lr", spec, parts, 1.0, args)
    test = metrics.evaluate(y, built["p_test"], float(y.mean()))
    test["cross_validation"] = cv
    name = "criteo_ctr"
    version = registry.next_version(root, name)
    m = manifest(name, version, "ctr", "clicked", built, spec, 1.0, {"train": cut, "valid": n - cut},
                 rows.source, [None, None], test)  # fmt: skip
    return register(root, name, m, built, metrics.reliability(y, built["p_test"]), rows.table)


# -- command line ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m adsx_ml.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])  # fmt: skip
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--training-set", type=Path, help="a training set's manifest.json")
    src.add_argument("--criteo", type=Path, help="a Criteo display-ads CSV")
    p.add_argument("--heads", default="ctr,cvr", help="comma-separated heads (default ctr,cvr)")
    p.add_argument("--registry", type=Path, help="model registry (default: [models] dir)")
    p.add_argument("--arm", default="control", help="experiment arm to promote to (control)")
    p.add_argument("--arm-per-family", action="store_true",
                   help="also point arms lr and xgboost at this run's model of each family")  # fmt: skip
    p.add_argument("--no-promote", dest="promote", action="store_false",
                   help="register only; leave the arm's pointer alone")  # fmt: skip
    p.add_argument("--max-regression", type=float, default=0.01,
                   help="refuse promotion when test log loss is worse than the arm's current "
                        "model's by more than this fraction (0.01)")  # fmt: skip
    p.add_argument("--negative-rate", type=float,
                   help="keep this share of negatives (default 0.25 from 50k training rows, else 1)")  # fmt: skip
    p.add_argument("--calibration", choices=["auto", "isotonic", "platt", "none"], default="auto")
    p.add_argument("--hash-bits", type=int, default=18, help="LR hashing space 2^bits (18)")
    p.add_argument("--folds", type=int, default=5, help="Criteo: cross-validation folds (5)")
    p.add_argument("--register", action="store_true", help="Criteo: register the LR as criteo_ctr")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--once", action="store_true",
                   help="skip a head that already has versions trained from this training set "
                        "with these settings (a rerun of a day's orchestration changes nothing)")  # fmt: skip
    p.add_argument("--report", type=Path, help="write the results as JSON here")
    args = p.parse_args(argv)
    if args.negative_rate is not None and not 0 < args.negative_rate <= 1:
        p.error("--negative-rate must be in (0, 1]")
    if not 1 <= args.hash_bits <= 30:
        p.error("--hash-bits must be in 1..30")
    heads = [h for h in args.heads.split(",") if h]
    if any(h not in HEADS for h in heads):
        p.error(f"--heads: choose from {', '.join(HEADS)}")
    cfg = adsx_config.load()
    root = args.registry or cfg.path("models", "dir")
    started = time.monotonic()
    try:
        if args.criteo:
            return run_criteo(args, root)
        rows = data.training_set(args.training_set, data.catalog_categories(cfg))
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    log(f"{len(rows.labels['clicked']):,} impressions from {args.training_set}")
    args.fingerprint = fingerprint(args)
    if args.once:
        for h in list(heads):
            if done := trained_from(root, h, args.fingerprint):
                log(f"{h}: versions {', '.join(map(str, done))} were trained from this set "
                    "with these settings; kept as they are (--once)")  # fmt: skip
                heads.remove(h)
    report = [r for h in heads if (r := train_head(rows, h, args, root))]
    print("\n".join(table_lines(report)))
    log(f"trained in {time.monotonic() - started:.1f} s; registry {root}")
    if args.report:
        args.report.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return 0


# The arguments that shape the models a run registers (and so its fingerprint).
SETTINGS = ("negative_rate", "calibration", "hash_bits", "seed", "max_regression", "arm")


def fingerprint(args) -> str:
    """What a run trains from: the training set's manifest (its rows, labels, features and
    date range) and the settings that shape the models."""
    settings = {k: getattr(args, k) for k in SETTINGS}
    h = hashlib.sha256(Path(args.training_set).read_bytes())
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def trained_from(root: Path, head: str, fp: str) -> list[int]:
    """The versions of `head` a run with fingerprint `fp` registered."""
    out = []
    for v in registry.versions(root, head):
        try:
            m = json.loads((root / head / str(v) / "model.json").read_text())
        except (OSError, ValueError):
            continue
        if m.get("training", {}).get("fingerprint") == fp:
            out.append(v)
    return out


def run_criteo(args, root: Path) -> int:
    rows = data.criteo(args.criteo)
    y = rows.labels["clicked"]
    log(f"{len(y)} rows, {int(y.sum())} clicks from {args.criteo}")
    cv = criteo_cv(rows, args.folds, args)
    log(f"{'model':<10} {'AUC':>16} {'log loss':>18}")
    for name, s in cv.items():
        log(f"{name:<10} {s['auc']['mean']:>8.4f} ± {s['auc']['std']:.4f} "
            f"{s['log_loss']['mean']:>9.4f} ± {s['log_loss']['std']:.4f}")  # fmt: skip
    result = {"cross_validation": cv}
    if args.register:
        d = criteo_register(rows, root, cv, args)
        result["registered"] = str(d)
        log(f"registered {d}")
    if args.report:
        args.report.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
