"""The daily loop as an Airflow DAG (Airflow 2.10, in a venv of its own: deploy/bootstrap.sh makes
.venv-airflow from python/airflow-constraints.txt). Each task runs one of the project's own
commands, as a user would from the checkout, for the run's logical date `ds`:

  lake_catch_up      adsx_jobs.lake --available-now     Kafka -> the Parquet lake, exactly once
  daily_features     adsx_jobs.daily --date ds          its data-quality gates run before anything
                                                        is written: a failed gate fails the task
                                                        and nothing downstream runs
  training_set       adsx_jobs.training_set             the three days up to ds, point in time
  train              adsx_ml.train --once               both heads, evaluated on the set's last
                                                        day, promoted only when not worse than
                                                        the serving model (--max-regression 0)
  materialize        adsx_jobs.materialize --date ds    the day's batch features into Redis
  retention          adsx privacy retention --apply     personal data past privacy.retention_days
  experiment_reports adsx experiment report             each running experiment's report

Every task is idempotent: a rerun of a day rewrites the same partitions (daily, training set,
materialize), archives nothing twice (the lake's checkpoint), trains nothing again (--once) and
finds nothing more past retention. Backfill: `airflow dags backfill -s FIRST -e LAST
adstreamx_daily`; one run at a time, since runs share the lake and the registry.

Where the project is: ADSX_ROOT (default: two folders up from this file), its Python
ADSX_PYTHON (default ADSX_ROOT/.venv/bin/python) and adsx ADSX_BIN (default the release
build). Every other setting is the project's own configuration (config/adsx.toml and the
ADSX_SECTION__KEY variables, which the tasks inherit).
"""

from __future__ import annotations

import datetime as dt
import os
import shlex
from pathlib import Path

from airflow import DAG
from airflow.models.baseoperator import chain
from airflow.operators.bash import BashOperator

ROOT = Path(os.environ.get("ADSX_ROOT", Path(__file__).resolve().parents[2]))
PYTHON = os.environ.get("ADSX_PYTHON", str(ROOT / ".venv" / "bin" / "python"))
ADSX = os.environ.get("ADSX_BIN", str(ROOT / "build" / "release" / "apps" / "adsx" / "adsx"))
TRAINING_DAYS = 3

py, adsx = shlex.quote(PYTHON), shlex.quote(ADSX)
# The lake's folder as the project's configuration says (the training set is written there).
lake_dir = (
    f'$({py} -c \'from adsx_jobs import config; print(config.load().location("lake", "dir"))\')'
)
training_name = "daily-{{ ds }}"

# The tasks in their order, each after the one before: the lake feeds the daily job, whose
# features feed the training set and the materialization; retention and reports close the day.
COMMANDS = {
    "lake_catch_up": f"{py} -m adsx_jobs.lake --available-now",
    "daily_features": f"{py} -m adsx_jobs.daily --date {{{{ ds }}}}",
    "training_set": (
        f"{py} -m adsx_jobs.training_set --from {{{{ macros.ds_add(ds, -{TRAINING_DAYS - 1}) }}}} "
        f"--to {{{{ ds }}}} --name {training_name}"
    ),
    "train": (
        f"{py} -m adsx_ml.train --training-set {lake_dir}/training/{training_name}/manifest.json "
        "--max-regression 0 --once"
    ),
    "materialize": f"{py} -m adsx_jobs.materialize --date {{{{ ds }}}}",
    "retention": f"{adsx} privacy retention --apply",
    "experiment_reports": (
        "set -euo pipefail; "
        f'out={lake_dir}/reports/{{{{ ds }}}}; mkdir -p "$out"; '
        f"for name in $({adsx} experiment list | awk '$2 == \"running\" {{print $1}}'); do "
        f'{adsx} experiment report --name "$name" --out "$out/$name"; done; '
        'ls "$out"'
    ),
}

default_args = {
    "owner": "adstreamx",
    "retries": 2,
    "retry_delay": dt.timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": dt.timedelta(minutes=30),
    "execution_timeout": dt.timedelta(hours=2),
    "sla": dt.timedelta(hours=3),  # the day's features and models by 03:00 UTC
}

with DAG(
    dag_id="adstreamx_daily",
    description="AdStreamX's daily loop: lake, daily features, training set, models, "
    "materialization, retention, experiment reports",
    schedule="@daily",
    start_date=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=dt.timedelta(hours=6),
    default_args=default_args,
    tags=["adstreamx"],
) as dag:
    chain(
        *(
            BashOperator(
                task_id=name,
                bash_command=COMMANDS[name],
                cwd=str(ROOT),
                env={"ADSX_ROOT": str(ROOT)},
                append_env=True,
            )
            for name in COMMANDS
        )
    )
