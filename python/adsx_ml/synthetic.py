"""A synthetic training set, for tests and benchmarks that need real models of the training
set's shape without running the lake and batch jobs: the columns adsx_jobs.training_set writes
(the features of adsx_ml.data.TRAINING_SET_NUMERIC, the request's and catalog's values,
labels), drawn at random over the catalog's ads with some signal in the labels. adsx_ml.train
trains on it like on a real set; the models' meaning is not the point.

  manifest = synthetic.training_set(Path("/tmp/set"), ads=[(ad_id, campaign_id), ...])
  python -m adsx_ml.train --training-set /tmp/set/manifest.json --registry /tmp/registry
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from adsx_ml.data import TRAINING_SET_NUMERIC


def training_set(directory: Path, ads: list[tuple[int, int]], rows: int = 20_000) -> Path:
    rng = np.random.default_rng(3)
    cols: dict[str, np.ndarray] = {}
    for n in TRAINING_SET_NUMERIC:
        v = rng.gamma(1.0, 10.0, rows)
        v[rng.random(rows) < 0.1] = np.nan
        cols[n.name] = v
    pick = rng.integers(0, len(ads), rows)
    cols["ad_id"] = np.array([ads[i][0] for i in pick])
    cols["campaign_id"] = np.array([ads[i][1] for i in pick])
    cols["device"] = rng.choice(["ios", "android", "desktop", "ctv"], rows)
    cols["geo"] = rng.choice(["US-CA", "US-NY", "DE-BE", "GB-LND"], rows)
    cols["placement"] = rng.choice(["feed", "sidebar", "interstitial", "video_preroll"], rows)
    cols["slot"] = rng.integers(1, 6, rows)
    cols["event_time"] = np.sort(rng.integers(1_700_000_000_000, 1_700_600_000_000, rows))
    cols["event_id"] = np.array([f"e{i}" for i in range(rows)])
    ios = (cols["device"] == "ios").astype(float)
    logit = -3.5 + 0.04 * np.nan_to_num(cols["stream_ad_1h_clicks"]) + 0.5 * ios
    cols["clicked"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    cols["converted"] = cols["clicked"] * (rng.random(rows) < 0.3).astype(int)
    data = directory / "data"
    data.mkdir(parents=True)
    duckdb.sql("SELECT * FROM cols").write_parquet(str(data / "part-0.parquet"))  # scans `cols`
    (directory / "manifest.json").write_text("{}\n")
    return directory / "manifest.json"
