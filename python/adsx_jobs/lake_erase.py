"""Erasure in the Parquet lake (issue #23): every file that holds a user of the suppression list
rewritten without them, atomically, checked by a second scan, and each request's ledger row told.

What holds a user, and what the rewrite leaves (docs/privacy.md):
  events/            their events keep their place with user_id, consent, ip and user_agent
                     emptied (ad and campaign counts from the lake still equal the stream's, as
                     the lake job writes them after an erasure); each file holding one is
                     replaced in the file sink's log (_spark_metadata) by its rewritten copy, one
                     atomic rename per log file, so Spark readers see the old file or the new
  rejected/batch=N   the raw bytes of a record naming them (its reason and topic position stay)
  features/user/     their rows (the daily job no longer writes them)
  training/*/data    their rows keep labels and ad features; user_id and the user features are
                     emptied, as for an impression without personalisation consent
A folder is replaced by exchanging it with its rewritten copy (renameat2 RENAME_EXCHANGE): a
reader sees the old folder or the new, never half. The job holds the lake's lock, so the lake
job never writes meanwhile, and starts by removing what a killed run left (its scratch folder
{lake}/.erase-tmp and event files the sink's log does not list): a run killed anywhere is
completed by the next.

  .venv/bin/python -m adsx_jobs.lake_erase            # rewrite, verify, record in the ledger
  .venv/bin/python -m adsx_jobs.lake_erase --verify   # scan only: exit 1 naming each place
  .venv/bin/python -m adsx_jobs.lake_erase --events-before 2026-09-01 [--apply]

--events-before is retention's part the lake job's log owns (`adsx privacy retention` lists the
event partitions past policy and names this command): event partitions dated before D are
listed, or with --apply taken out of the sink's log (each log file rewritten without them and
renamed over) and then deleted, under the same lock.
"""

from __future__ import annotations

import argparse
import ctypes
import datetime as dt
import json
import os
import shutil
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from adsx_jobs import config as adsx_config
from adsx_jobs import pg, privacy
from adsx_jobs.lake import lake_lock, local_dir, rejected_records
from adsx_jobs.sink_log import SinkLog, local, remove_data_file, remove_unlisted
from adsx_jobs.spark import session

SCRATCH = ".erase-tmp"  # under the lake's root: a dot folder no Spark reader lists


@dataclass(frozen=True)
class Hit:
    dataset: str  # events, rejected, features_user, training
    place: str  # the file (events) or folder (the others) to rewrite, a local path
    user: str
    rows: int


_libc = ctypes.CDLL(None, use_errno=True)
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def exchange(a: Path, b: Path) -> None:
    """Swap two folders in one step (Linux renameat2). Where the file system cannot, the old one
    is moved aside first: a reader may then find the folder missing for that moment."""
    if _libc.renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE):
        err = ctypes.get_errno()
        if err not in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
            raise OSError(err, os.strerror(err), str(a))
        aside = b.with_name(b.name + ".old")
        os.rename(a, aside)
        os.rename(b, a)
        os.rename(aside, b)


def _parquet(d: Path) -> bool:
    return d.exists() and any(d.rglob("*.parquet"))


def _by_place(df: DataFrame, dataset: str, erased_df: DataFrame, folder: bool) -> list[Hit]:
    counts = (
        df.withColumn("_file", F.input_file_name())
        .join(erased_df, "user_id")
        .groupBy("_file", "user_id")
        .count()
        .collect()
    )
    rows: dict[tuple[str, str], int] = defaultdict(int)
    for r in counts:
        place = local(r["_file"])
        rows[(str(Path(place).parent) if folder else place, r["user_id"])] += r["count"]
    return [Hit(dataset, place, user, n) for (place, user), n in sorted(rows.items())]


def scan(spark: SparkSession, root: Path, erased: list[str]) -> list[Hit]:
    """Every place in the lake that holds a listed user, with their rows there."""
    if not erased:
        return []
    listed = F.broadcast(spark.createDataFrame([(u,) for u in erased], ["user_id"]))
    hits: list[Hit] = []
    if (root / "events" / "_spark_metadata").exists():  # read through the sink's log
        hits += _by_place(spark.read.parquet(str(root / "events")), "events", listed, False)
    if _parquet(root / "features" / "user"):
        users = spark.read.parquet(str(root / "features" / "user"))
        hits += _by_place(users, "features_user", listed, True)
    for data in sorted(root.glob("training/*/data")):
        if _parquet(data):
            hits += _by_place(spark.read.parquet(str(data)), "training", listed, True)
    if _parquet(root / "rejected"):
        raw = spark.read.parquet(str(root / "rejected")).withColumn("_file", F.input_file_name())
        named = raw.crossJoin(listed).where(F.col("raw").cast("string").contains(F.col("user_id")))
        for r in named.groupBy("_file", "user_id").count().collect():
            hits.append(
                Hit("rejected", str(Path(local(r["_file"])).parent), r["user_id"], r["count"])
            )
    return hits


def clean_up(root: Path) -> int:
    """What a killed run left: its scratch folder, and event files no log lists (a rewritten copy
    moved in before the log named it, or a replaced file not yet deleted). Under the lock the
    lake job is not writing, so an unlisted file is nobody's."""
    shutil.rmtree(root / SCRATCH, ignore_errors=True)
    return remove_unlisted(root / "events")


def rewrite_events(spark: SparkSession, root: Path, files: list[str], erased: list[str]) -> None:
    log = SinkLog(root / "events")
    live = log.live()
    index = spark.createDataFrame(
        [(live[f]["path"], i) for i, f in enumerate(files)], ["_src", "_idx"]
    )
    # The explicit files (no partition columns: those are the folders), each tagged by its place.
    df = spark.read.parquet(*[live[f]["path"] for f in files])
    columns = [c for c in df.columns if c not in ("event_date", "event_hour")]
    tagged = df.select(*columns).withColumn("_src", F.input_file_name())
    out = privacy.anonymised(tagged, erased, list(privacy.EVENT_PERSONAL))
    scratch = root / SCRATCH / "events"
    out.join(F.broadcast(index), "_src").drop("_src").repartition("_idx").write.partitionBy(
        "_idx"
    ).parquet(str(scratch))
    new: dict[str, dict] = {}
    for i, f in enumerate(files):
        (copy,) = (scratch / f"_idx={i}").glob("*.parquet")  # one task wrote each
        target = Path(f).with_name(f"part-erased-{uuid.uuid4()}.c000.snappy.parquet")
        os.rename(copy, target)
        st = target.stat()
        entry = dict(live[f])
        entry["path"] = entry["path"].rsplit("/", 1)[0] + "/" + target.name
        entry.update(size=st.st_size, modificationTime=int(st.st_mtime * 1000))
        new[f] = entry
    log.replace(new)  # from here readers get the copies
    for f in files:
        remove_data_file(Path(f))


def rewrite_folder(spark: SparkSession, root: Path, place: Path, change: Callable) -> None:
    copy = root / SCRATCH / uuid.uuid4().hex
    change(spark.read.parquet(str(place))).write.parquet(str(copy))
    exchange(place, copy)
    shutil.rmtree(copy)


def rewrite(spark: SparkSession, root: Path, hits: list[Hit], erased: list[str]) -> None:
    files = sorted({h.place for h in hits if h.dataset == "events"})
    if files:
        rewrite_events(spark, root, files, erased)

    def training(df: DataFrame) -> DataFrame:
        user = ["user_id"] + [
            c for c in df.columns if c.startswith(("stream_user_", "batch_user_"))
        ]
        return privacy.anonymised(df, erased, user)

    changes = {
        "features_user": lambda df: privacy.keep_personal(df, erased),
        "training": training,
        "rejected": lambda df: rejected_records(df, erased),
    }
    for dataset, change in changes.items():
        for place in sorted({h.place for h in hits if h.dataset == dataset}):
            rewrite_folder(spark, root, Path(place), change)
    shutil.rmtree(root / SCRATCH, ignore_errors=True)


def drop_events_before(root: Path, before: str, apply: bool) -> list[Path]:
    """Event partitions dated before `before` (YYYY-MM-DD); with `apply`, out of the sink's log,
    then deleted. Returns them."""
    events = root / "events"
    partitions = sorted(
        d for d in events.glob("event_date=*") if d.name.removeprefix("event_date=") < before
    )
    if apply and partitions:
        gone = {f for f in SinkLog(events).live() if Path(f).parents[1] in partitions}
        SinkLog(events).replace(dict.fromkeys(gone))  # from here no reader lists them
        for d in partitions:
            shutil.rmtree(d)
    return partitions


def per_user(hits: list[Hit]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for h in hits:
        out[h.user][f"{h.dataset}_rows"] += h.rows
        out[h.user][f"{h.dataset}_{'files' if h.dataset == 'events' else 'folders'}"] += 1
    return out


def record(cfg: adsx_config.Config, erased: list[str], hits: list[Hit]) -> int:
    """Stamps the open lake part of every request of a listed user; returns how many."""
    counts = per_user(hits)
    with pg.connect(cfg) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, user_id FROM privacy_requests WHERE lake_erased_at IS NULL "
            "AND user_id = ANY(%s) FOR UPDATE",
            (erased,),
        )
        requests = cur.fetchall()
        for rid, user in requests:
            cur.execute(
                "UPDATE privacy_requests SET lake_erased_at = now(), "
                "stores = stores || jsonb_build_object('lake', %s::jsonb) WHERE id = %s",
                (json.dumps(counts.get(user, {})), rid),
            )
    return len(requests)


def erase(cfg: adsx_config.Config, root: Path, erased: list[str], verify: bool):
    """Under the lake's lock: what a killed run left removed, the scan, the rewrite and the
    second scan. Returns (stray files removed, what held a listed user, what still does)."""
    spark = session(cfg, "adsx-lake-erase")
    stray = 0 if verify else clean_up(root)
    found = scan(spark, root, erased)
    left = found
    if found and not verify:
        rewrite(spark, root, found, erased)
        left = scan(spark, root, erased)
    spark.stop()
    return stray, found, left


def main(argv: list[str] | None = None) -> int:
    cfg = adsx_config.load()
    ap = argparse.ArgumentParser(
        prog="adsx_jobs.lake_erase", description=__doc__.split("\n\n")[0].replace("\n", " ")
    )
    ap.add_argument("--lake", help="default: [lake] dir")
    ap.add_argument(
        "--verify", action="store_true", help="scan only; exit 1 if anything holds a listed user"
    )
    ap.add_argument(
        "--user",
        action="append",
        help="only this pseudonym (repeatable; default: the whole suppression list)",
    )
    ap.add_argument(
        "--wait-s", type=float, default=600, help="how long to wait for the lake's lock"
    )
    ap.add_argument(
        "--events-before",
        type=dt.date.fromisoformat,
        help="retention instead: list the event partitions dated before this day (YYYY-MM-DD)",
    )
    ap.add_argument("--apply", action="store_true", help="with --events-before: remove them")
    args = ap.parse_args(argv)
    lake = args.lake or cfg.location("lake", "dir")
    if (root := local_dir(lake)) is None:
        print(f"lake erasure needs a local lake; {lake} is not (docs/privacy.md)", file=sys.stderr)
        return 2
    root = root.resolve()
    if args.apply and not args.events_before:
        ap.error("--apply goes with --events-before")
    erased = [] if args.events_before else args.user or privacy.suppressed(cfg)
    started = time.monotonic()
    try:
        with lake_lock(lake, args.wait_s):
            if args.events_before:
                before = args.events_before.isoformat()
                for d in drop_events_before(root, before, args.apply):
                    state = "removed" if args.apply else "past policy"
                    print(f"lake  {d}  event_date before {before}  {state}")
                return 0
            stray, found, left = erase(cfg, root, erased, args.verify)
    except TimeoutError as e:
        print(f"adsx_jobs.lake_erase: {e} (is the lake job running?)", file=sys.stderr)
        return 1
    for h in left:
        print(f"{h.dataset}: {h.place} holds {h.rows} row(s) of {h.user}", file=sys.stderr)
    stamped = 0 if args.verify or left else record(cfg, erased, found)
    summary = {
        "summary": "lake_erase",
        "users_listed": len(erased),
        "found": len(found),
        "rewritten": 0 if args.verify else len({h.place for h in found}),
        "left": len(left),
        "stray_files_removed": stray,
        "requests_stamped": stamped,
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(summary), flush=True)
    return 1 if left else 0


if __name__ == "__main__":
    sys.exit(main())
