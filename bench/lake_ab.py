"""Two source trees' lake jobs side by side: alternated runs of `adsx_jobs.lake --available-now`
over the same topic, each run's wall time, events/s, CPU (the JVM included) and peak RSS, and
the medians.

  git worktree add /tmp/lake-base <rev>
  .venv/bin/python bench/lake_ab.py /tmp/lake-base .

BENCH_LAKE_EVENTS (2,000,000) events over 7 days, generated once by this tree's `adsx`;
BENCH_RUNS (3) pairs, baseline first in each. Each run starts from nothing: its own lake folder,
`--fresh` checkpoints, and the topic's batches taken out of analytics_batches (else a run would
skip the PostgreSQL work the one before it did). Both trees run this venv's Python and the
local stack; each reads its own config/adsx.toml. Writes bench/results/lake_ab.json.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import uuid

from common import ADSX, alternate, machine, measure, median_of, table, topic_cmd, write_result

EVENTS = int(os.environ.get("BENCH_LAKE_EVENTS", "2000000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))


def forget_batches(tree: pathlib.Path, topic: str) -> None:
    """The topic's analytics batches out of PostgreSQL, through the tree's own pg helper."""
    code = (
        "from adsx_jobs import config, pg\n"
        "with pg.connect(config.load()) as c:\n"
        f"    c.execute('DELETE FROM analytics_batches WHERE query = %s', ('lake-{topic}',))\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=tree, env=tree_env(tree), check=True)


def tree_env(tree: pathlib.Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(tree / "python"))


def run(tree: pathlib.Path, topic: str, work: str, i: int) -> dict:
    lake = f"{work}/{tree.name}-{i}"
    forget_batches(tree, topic)
    job = ["adsx_jobs.lake", "--available-now", "--fresh", "--topic", topic, "--lake", lake]
    m = measure(
        [sys.executable, "-m", *job],
        env=tree_env(tree),
        unreaped_descendants=True,
    )
    summary = next(json.loads(x) for x in m.stdout.splitlines() if x.startswith('{"summary"'))
    shutil.rmtree(lake, ignore_errors=True)
    return {
        "wall_s": round(m.wall_s, 1),
        "events_per_s": summary["records"] / m.wall_s,
        "cpu_s": round(m.cpu_s, 1),
        "peak_rss_mb": round(m.peak_rss_mb),
    }


def main() -> None:
    if len(sys.argv) != 3:
        print("usage: bench/lake_ab.py BASELINE_TREE CANDIDATE_TREE", file=sys.stderr)
        sys.exit(2)
    baseline, candidate = (pathlib.Path(a).resolve() for a in sys.argv[1:])
    topic = f"bench.lake_ab.{uuid.uuid4().hex[:6]}"
    work = tempfile.mkdtemp(prefix="adsx-bench-lake-ab-")
    env = dict(os.environ, ADSX_KAFKA__EVENTS_TOPIC=topic)
    subprocess.run([ADSX, "generate", "--events", str(EVENTS), "--days", "7", "--seed", "5"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    try:
        pairs = alternate(
            RUNS,
            lambda i: run(candidate, topic, work, i),
            lambda i: run(baseline, topic, work, i),
            "baseline",
            "events_per_s",
        )
    finally:
        topic_cmd("--delete", "--topic", topic)
        shutil.rmtree(work, ignore_errors=True)
    keys = ["wall_s", "events_per_s", "cpu_s", "peak_rss_mb"]
    rows = [[k, f"{median_of(pairs, 'baseline', k):,.1f}", f"{median_of(pairs, 'ours', k):,.1f}"]
            for k in keys]  # fmt: skip
    print(f"lake job, {EVENTS:,} events, medians of {RUNS} alternated pairs")
    print(table(["", f"baseline ({baseline.name})", f"candidate ({candidate.name})"], rows))
    write_result(
        "lake_ab",
        {
            "events": EVENTS,
            "baseline": str(baseline),
            "candidate": str(candidate),
            "pairs": pairs,
            "machine": machine(),
        },
    )


if __name__ == "__main__":
    main()
