"""The daily DAG (python/dags/adstreamx_daily.py) in Airflow (.venv-airflow, deploy/bootstrap.sh):
loaded by a DagBag with the tasks and order the loop needs, then run end to end for one day with
`airflow dags test` on the suite's own stack, and run again for the same day: the second run must
change nothing (the lake's rows, the day's features, the training set, the model registry, the
batch features in Redis). Issue #25."""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
import os
import subprocess

import duckdb
import pytest
import redis
from conftest import ADSX_BIN, OWN_STACK, SOURCE_DIR, run_adsx

AIRFLOW_VENV = SOURCE_DIR / ".venv-airflow"
DAGS = SOURCE_DIR / "python" / "dags"
EVENTS = 45_000  # over three days: enough clicks for the ctr head's splits, and no more

pytestmark = pytest.mark.skipif(
    not OWN_STACK, reason="writes the stack's lake, registry and Redis: runs on a stack of its own"
)

ORDER = [
    "lake_catch_up",
    "daily_features",
    "training_set",
    "train",
    "materialize",
    "retention",
    "experiment_reports",
]


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("airflow")
    env = dict(
        os.environ,
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        ADSX_ROOT=str(SOURCE_DIR),
        ADSX_BIN=ADSX_BIN,
        # The tasks' Spark drivers live a minute on a small lake: C2's compiles of Spark's own
        # code would not pay for themselves. Same results (a JIT tier changes no semantics).
        JAVA_TOOL_OPTIONS="-XX:TieredStopAtLevel=1",
    )
    r = subprocess.run(
        [AIRFLOW_VENV / "bin" / "airflow", "db", "migrate"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    return env


def test_the_dagbag_holds_the_daily_loop_in_order_with_retries(airflow_env):
    probe = """
import json
from airflow.models import DagBag
b = DagBag(read_dags_from_db=False, include_examples=False)
d = b.dags.get("adstreamx_daily")
print(json.dumps({
    "errors": {k: str(v) for k, v in b.import_errors.items()},
    "tasks": {t.task_id: {"down": sorted(t.downstream_task_ids), "retries": t.retries,
                          "command": t.bash_command} for t in d.tasks} if d else None,
    "max_active_runs": d.max_active_runs if d else None,
}))
"""
    r = subprocess.run(
        [AIRFLOW_VENV / "bin" / "python", "-c", probe],
        env=airflow_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-3000:]
    bag = json.loads(r.stdout.strip().splitlines()[-1])
    assert bag["errors"] == {}
    tasks = bag["tasks"]
    assert list(tasks) == ORDER
    for before, after in itertools.pairwise(ORDER):
        assert tasks[before]["down"] == [after]
    assert tasks[ORDER[-1]]["down"] == []
    assert all(t["retries"] >= 1 for t in tasks.values())
    assert bag["max_active_runs"] == 1  # runs share the lake and the registry
    # Each task is one of the project's own commands.
    assert "adsx_jobs.lake --available-now" in tasks["lake_catch_up"]["command"]
    assert "adsx_ml.train" in tasks["train"]["command"] and "--once" in tasks["train"]["command"]
    assert "privacy retention --apply" in tasks["retention"]["command"]


def snapshot(env: dict[str, str], day: datetime.date) -> dict:
    """What a day's run leaves: rows of the lake and of its outputs (each set sorted, hashed),
    the registry's files, the batch fields in Redis."""
    cfg = run_adsx("config", "show", env=env).stdout

    def setting(key: str) -> str:
        line = next(x for x in cfg.splitlines() if x.startswith(f"{key} = "))
        return line.split(" = ", 1)[1].split()[0].strip('"')

    lake = (SOURCE_DIR / setting("lake.dir")).resolve()
    models = (SOURCE_DIR / setting("models.dir")).resolve()
    db = duckdb.connect()
    out: dict = {}
    sets = {"events": lake / "events", "training": lake / "training" / f"daily-{day}" / "data"}
    for view in ("ad", "ad_device", "ad_geo", "campaign", "user"):
        sets[f"features/{view}"] = lake / "features" / view / f"date={day}"
    for name, where in sets.items():
        rows = db.execute(
            f"SELECT * FROM read_parquet('{where}/**/*.parquet', union_by_name=true) ORDER BY ALL"
        ).fetchall()
        out[name] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    out["registry"] = {
        str(p.relative_to(models)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(models.rglob("*"))
        if p.is_file()
    }
    r = redis.Redis(port=int(os.environ.get("ADSX_REDIS__PORT", "6379")))
    batch = {}
    for key in r.scan_iter(count=1000):
        fields = r.hgetall(key) if r.type(key) == b"hash" else {}
        batch[key] = sorted((f, v) for f, v in fields.items() if f.startswith(b"b."))
    out["redis_batch"] = hashlib.sha256(repr(sorted(batch.items())).encode()).hexdigest()
    out["redis_batch_keys"] = sum(1 for v in batch.values() if v)
    return out


def dags_test(env: dict[str, str], day: datetime.date) -> str:
    r = subprocess.run(
        [AIRFLOW_VENV / "bin" / "airflow", "dags", "test", "adstreamx_daily", str(day)],
        env=env, capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    log = r.stdout + r.stderr
    assert r.returncode == 0, log[-6000:]
    for task in ORDER:
        assert f"Marking task as SUCCESS. dag_id=adstreamx_daily, task_id={task}," in log, (
            task,
            log[-6000:],
        )
    return log


def test_a_day_runs_end_to_end_and_a_second_run_changes_nothing(airflow_env):
    gen = run_adsx(
        "generate", "--events", str(EVENTS), "--days", "3", "--seed", "47",
        env=airflow_env, timeout=600,
    )  # fmt: skip
    assert gen.returncode == 0, gen.stderr[-2000:]
    day = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)

    first_log = dags_test(airflow_env, day)
    first = snapshot(airflow_env, day)
    assert first["events"][0] > EVENTS // 2
    assert all(first[f"features/{v}"][0] > 0 for v in ("ad", "campaign", "user"))
    assert first["training"][0] > 5_000
    assert any(k.startswith("ctr/") and k.endswith("model.json") for k in first["registry"])
    assert first["redis_batch_keys"] > 100  # the day's batch features materialized
    assert "registered" in first_log

    second_log = dags_test(airflow_env, day)
    assert snapshot(airflow_env, day) == first
    assert "kept as they are (--once)" in second_log
