"""The Parquet lake's `events/` table as Spark's file sink keeps it: the files it committed are
the ones its log (`_spark_metadata`) lists, and Spark's readers read exactly those. A file in
the folder that no log lists is a failed batch's (a full disk, a killed job) or a rewrite's
left-over: no reader of the log sees it, but a reader of the folder would, so the lake job and
the erasure remove them, under the lake's lock (adsx_jobs.lake.lake_lock)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import unquote, urlparse


def local(uri: str) -> str:
    return unquote(urlparse(uri).path) if uri.startswith("file:") else uri


class SinkLog:
    """The file sink's log of committed files ({table}/_spark_metadata): per batch a file of
    "v1" and one JSON line per file written; every few batches N.compact lists every live one."""

    def __init__(self, table: Path):
        self.dir = table / "_spark_metadata"

    def _files(self) -> list[tuple[int, bool, Path]]:
        out = []
        for p in self.dir.iterdir() if self.dir.exists() else []:
            stem, compact = p.name.removesuffix(".compact"), p.name.endswith(".compact")
            if stem.isdigit():
                out.append((int(stem), compact, p))
        return sorted(out)

    @staticmethod
    def _entries(p: Path) -> list[dict]:
        lines = p.read_text().splitlines()
        return [json.loads(line) for line in lines[1:] if line.strip()]

    def live(self) -> dict[str, dict]:
        """Every file the log lists now, by local path (the latest compaction and the batches
        after it, deletions applied)."""
        files = self._files()
        start = max((n for n, compact, _ in files if compact), default=-1)
        out: dict[str, dict] = {}
        for n, compact, p in files:
            if n < start or (n == start and not compact):
                continue
            for e in self._entries(p):
                if e.get("action") == "delete":
                    out.pop(local(e["path"]), None)
                else:
                    out[local(e["path"])] = e
        return out

    def replace(self, new: dict[str, dict | None]) -> None:
        """Each listed file in `new` (by local path) replaced by its new entry, or dropped where
        that is None, in every log file naming it: written beside, then renamed over (atomic for
        a reader of that file)."""
        for _, _, p in self._files():
            entries = self._entries(p)
            if not any(local(e["path"]) in new for e in entries):
                continue
            kept = [new.get(local(e["path"]), e) for e in entries]
            lines = [p.read_text().splitlines()[0]]
            lines += [json.dumps(e, separators=(",", ":")) for e in kept if e is not None]
            tmp = p.with_name(f".{p.name}.erase")
            tmp.write_text("\n".join(lines))
            os.replace(tmp, p)


def remove_data_file(p: Path) -> None:
    """A Parquet file and the checksum Hadoop's local file system keeps beside it."""
    p.unlink(missing_ok=True)
    p.with_name(f".{p.name}.crc").unlink(missing_ok=True)


def remove_unlisted(table: Path) -> int:
    """Removes the table's Parquet files no log lists; returns how many. Only under the lake's
    lock: a batch being written lists its files only once it commits."""
    if not (table / "_spark_metadata").exists():
        return 0
    listed = set(SinkLog(table).live())
    stray = [p for p in table.glob("event_date=*/event_hour=*/*.parquet") if str(p) not in listed]
    for p in stray:
        remove_data_file(p)
    return len(stray)
