"""Rows the trainer learns from: a point-in-time training set of the lake (adsx_jobs.training_set
writes it, with manifest.json beside it) or a Criteo display-ads CSV; and the feature spec each
one is modelled with. Tables are dicts of numpy columns (spec.Table).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from adsx_ml.spec import Numeric, Spec, Table

# What serving knows when it scores an ad for an impression: the request (device, geo,
# placement, slot, time), the ad and its catalog entry, and the online store's stream_* and
# materialized batch_* features. Counts, money and durations are log-scaled for LR.
TRAINING_SET_NUMERIC = [
    Numeric("stream_ad_5m_impressions", "log1p"),
    Numeric("stream_ad_5m_clicks", "log1p"),
    Numeric("stream_ad_1h_impressions", "log1p"),
    Numeric("stream_ad_1h_clicks", "log1p"),
    Numeric("stream_user_1h_impressions", "log1p"),
    Numeric("stream_user_1h_clicks", "log1p"),
    Numeric("stream_user_24h_impressions", "log1p"),
    Numeric("stream_user_24h_clicks", "log1p"),
    Numeric("stream_user_seconds_since_impression", "log1p"),
    Numeric("stream_user_seconds_since_click", "log1p"),
    Numeric("batch_user_impressions_7d", "log1p"),
    Numeric("batch_user_clicks_7d", "log1p"),
    Numeric("batch_user_ctr_7d"),
    Numeric("batch_user_conversions_7d", "log1p"),
    Numeric("batch_user_cvr_7d"),
    Numeric("batch_user_lifetime_value", "log1p"),
    Numeric("batch_ad_impressions_7d", "log1p"),
    Numeric("batch_ad_ctr_7d"),
    Numeric("batch_ad_cvr_7d"),
    Numeric("batch_campaign_ctr_7d"),
    Numeric("batch_campaign_cvr_7d"),
    Numeric("batch_campaign_pacing"),
    Numeric("batch_ad_device_impressions_7d", "log1p"),
    Numeric("batch_ad_device_ctr_7d"),
    Numeric("batch_ad_geo_impressions_7d", "log1p"),
    Numeric("batch_ad_geo_ctr_7d"),
    Numeric("bid", "log1p"),
]
TRAINING_SET_CATEGORICAL = [
    "device", "geo", "placement", "slot", "hour_of_day", "category", "ad_id", "campaign_id",
]  # fmt: skip
TRAINING_SET_CROSSES = [("device", "category"), ("geo", "hour_of_day"), ("placement", "slot")]

CRITEO_NUMERIC = [Numeric(f"I{i}", "log1p") for i in range(1, 14)]
CRITEO_CATEGORICAL = [f"C{i}" for i in range(1, 27)]


@dataclass
class Rows:
    table: Table
    labels: dict[str, np.ndarray]
    time_ms: np.ndarray | None  # event time of each row, ascending; None for Criteo
    source: str


def training_set(manifest_file: Path, categories: dict[int, str]) -> Rows:
    """A training set's rows in event-time order. `categories` maps ad_id to the catalog's
    creative category (serving reads the same catalog)."""
    data = manifest_file.parent / "data"
    if not data.is_dir():
        raise FileNotFoundError(f"{data}: the training set's Parquet files are missing")
    numeric = ", ".join(
        f"coalesce(CAST({n.name} AS DOUBLE), 'NaN'::DOUBLE) AS {n.name}"
        for n in TRAINING_SET_NUMERIC
    )
    sql = f"""
        SELECT {numeric},
               device, geo, placement, CAST(slot AS VARCHAR) AS slot,
               lpad(CAST(hour(make_timestamp(event_time * 1000)) AS VARCHAR), 2, '0') AS hour_of_day,
               ad_id, CAST(ad_id AS VARCHAR) AS ad_key, CAST(campaign_id AS VARCHAR) AS campaign_id,
               clicked, converted, event_time
        FROM read_parquet('{data}/**/*.parquet')
        ORDER BY event_time, event_id"""
    cols = duckdb.connect().sql(sql).fetchnumpy()
    table: Table = {
        n.name: np.asarray(cols[n.name], dtype=np.float64) for n in TRAINING_SET_NUMERIC
    }
    for name in ("device", "geo", "placement", "slot", "hour_of_day", "campaign_id"):
        table[name] = np.asarray(cols[name], dtype=object)
    table["ad_id"] = np.asarray(cols["ad_key"], dtype=object)
    table["category"] = np.array([categories.get(int(a), "") for a in cols["ad_id"]], dtype=object)
    labels = {k: np.asarray(cols[k], dtype=np.int64) for k in ("clicked", "converted")}
    return Rows(table, labels, np.asarray(cols["event_time"], dtype=np.int64), str(manifest_file))


def training_set_spec(train: Table) -> Spec:
    return Spec.infer(train, TRAINING_SET_NUMERIC, TRAINING_SET_CATEGORICAL, TRAINING_SET_CROSSES)


def catalog_categories(cfg) -> dict[int, str]:
    from adsx_jobs.pg import connect

    with connect(cfg) as conn:
        return dict(conn.execute("SELECT ad_id, creative_category FROM ads").fetchall())


def criteo(path: Path) -> Rows:
    """The Criteo display-ads format: label, I1..I13 (integers, may be empty), C1..C26 (hashed
    categorical values, may be empty)."""
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        expected = ["label"] + [n.name for n in CRITEO_NUMERIC] + CRITEO_CATEGORICAL
        if reader.fieldnames != expected:
            raise ValueError(f"{path}: header is not label,I1..I13,C1..C26")
        records = list(reader)
    table: Table = {
        n.name: np.array([float(r[n.name]) if r[n.name] else np.nan for r in records])
        for n in CRITEO_NUMERIC
    }
    for c in CRITEO_CATEGORICAL:
        table[c] = np.array([r[c] or None for r in records], dtype=object)
    y = np.array([int(r["label"]) for r in records], dtype=np.int64)
    return Rows(table, {"clicked": y}, None, str(path))


def criteo_spec(train: Table) -> Spec:
    return Spec.infer(train, CRITEO_NUMERIC, CRITEO_CATEGORICAL, (), min_count=2)


def write_rows(path: Path, table: Table, spec: Spec) -> None:
    """JSON lines, one object per row of the spec's features: what `adsx model score` reads."""
    names = [n.name for n in spec.numeric]
    cats = [c.name for c in spec.categorical]
    with open(path, "w") as f:
        for i in range(len(next(iter(table.values())))):
            row = {}
            for n in names:
                v = float(table[n][i])
                row[n] = None if np.isnan(v) else v
            for c in cats:
                row[c] = table[c][i]
            f.write(json.dumps(row) + "\n")
