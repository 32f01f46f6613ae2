"""Evaluation of predicted probabilities against labels: AUC, log loss, normalized entropy,
calibration ratio (overall and by group) and a reliability plot as SVG.

Normalized entropy (He et al., "Practical lessons from predicting clicks on ads at Facebook",
2014) = the model's log loss ÷ the log loss of always predicting the training base rate, on the
same test rows: below 1 means the model knows more than the base rate.
"""

from __future__ import annotations

import math
from html import escape

import numpy as np
from sklearn.metrics import roc_auc_score

EPS = 1e-15


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """None when the rows hold a single class (AUC is undefined)."""
    return float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None


def calibration_ratio(y: np.ndarray, p: np.ndarray) -> float | None:
    """Σ predicted ÷ Σ observed positives; None without positives."""
    return float(p.sum() / y.sum()) if y.sum() > 0 else None


def evaluate(y: np.ndarray, p: np.ndarray, base_rate: float) -> dict:
    base = log_loss(y, np.full(len(y), base_rate))
    ll = log_loss(y, p)
    return {
        "rows": int(len(y)),
        "positives": int(y.sum()),
        "auc": auc(y, p),
        "log_loss": ll,
        "base_rate": base_rate,
        "base_rate_log_loss": base,
        "normalized_entropy": ll / base if base > 0 else float("nan"),
        "calibration_ratio": calibration_ratio(y, p),
    }


def by_group(y: np.ndarray, p: np.ndarray, groups: np.ndarray, top: int = 12) -> dict:
    """Calibration ratio, rows and positives per group value, the `top` largest groups."""
    values, counts = np.unique(groups.astype(str), return_counts=True)
    out = {}
    for v in values[np.argsort(-counts)][:top]:
        m = groups.astype(str) == v
        out[str(v)] = {
            "rows": int(m.sum()),
            "positives": int(y[m].sum()),
            "calibration_ratio": calibration_ratio(y[m], p[m]),
        }
    return out


def reliability(y: np.ndarray, p: np.ndarray, bins: int = 20) -> list[dict]:
    """Equal-count bins of the predictions: mean predicted vs observed rate in each."""
    order = np.argsort(p, kind="stable")
    out = []
    for chunk in np.array_split(order, min(bins, max(1, len(p)))):
        if len(chunk):
            out.append(
                {
                    "rows": int(len(chunk)),
                    "predicted": float(p[chunk].mean()),
                    "observed": float(y[chunk].mean()),
                }
            )
    return out


def reliability_svg(curves: dict[str, list[dict]], title: str) -> str:
    """A reliability plot: one line of (mean predicted, observed) per model, the diagonal as the
    ideal. Axes run from 0 to the largest value seen, so rare-event models stay readable."""
    w, h, pad = 520, 420, 56
    top = max([1e-6] + [max(b["predicted"], b["observed"]) for c in curves.values() for b in c])
    top = _nice_ceiling(top)

    def px(v: float) -> float:
        return pad + v / top * (w - 2 * pad)

    def py(v: float) -> float:
        return h - pad - v / top * (h - 2 * pad)

    colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
        f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">',
        f'<rect width="{w}" height="{h}" fill="white"/>',
        f'<text x="{w / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>',
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(top)}" y2="{py(top)}" stroke="#999" '
        'stroke-dasharray="4 4"/>',
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(top)}" y2="{py(0)}" stroke="black"/>',
        f'<line x1="{px(0)}" y1="{py(0)}" x2="{px(0)}" y2="{py(top)}" stroke="black"/>',
    ]
    for i in range(5):
        v = top * i / 4
        parts.append(f'<text x="{px(v)}" y="{py(0) + 16}" text-anchor="middle">{v:.3g}</text>')
        parts.append(f'<text x="{px(0) - 6}" y="{py(v) + 4}" text-anchor="end">{v:.3g}</text>')
    parts.append(f'<text x="{w / 2}" y="{h - 12}" text-anchor="middle">mean predicted</text>')
    parts.append(
        f'<text x="14" y="{h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {h / 2})">observed rate</text>'
    )
    for k, (name, curve) in enumerate(curves.items()):
        colour = colours[k % len(colours)]
        points = " ".join(f"{px(b['predicted']):.1f},{py(b['observed']):.1f}" for b in curve)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}"/>')
        for b in curve:
            parts.append(
                f'<circle cx="{px(b["predicted"]):.1f}" cy="{py(b["observed"]):.1f}" r="2.5" '
                f'fill="{colour}"/>'
            )
        parts.append(
            f'<text x="{pad + 10}" y="{pad + 14 * k}" fill="{colour}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _nice_ceiling(v: float) -> float:
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * e:
            return m * e
    return 10 * e
