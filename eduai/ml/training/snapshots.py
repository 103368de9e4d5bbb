"""Training data snapshots: a scope's rows, redacted, frozen in a JSONL file with a content hash.

Every row carries its split, decided by the hash of its id alone (70% train, 10% validation,
20% test): the same row is in the same split in every snapshot, so adding data never moves a
test row into training, and a rebuilt snapshot of unchanged data has the same hash.
"""

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import TrainingSnapshot
from .sources import Row, kind_for_task, rows_of, training_source

SPLITS = ("train", "validation", "test")
# Cumulative percent bounds of train and validation; the rest is test.
SPLIT_BOUNDS = (70, 80)


def row_split(row_id: str) -> str:
    bucket = int(hashlib.sha256(row_id.encode()).hexdigest()[:8], 16) % 100
    if bucket < SPLIT_BOUNDS[0]:
        return "train"
    return "validation" if bucket < SPLIT_BOUNDS[1] else "test"


def snapshot_content(rows: list[Row]) -> bytes:
    """The JSONL bytes of ``rows`` (sorted by id, keys sorted, each with its split)."""
    lines = []
    for row in sorted(rows, key=lambda item: item["id"]):
        lines.append(json.dumps({**row, "split": row_split(row["id"])}, sort_keys=True, ensure_ascii=False))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so a reader sees the old file or the whole new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.part-{os.getpid()}")
    with partial.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, path)


def _safe(scope: str) -> str:
    return "".join(char if char.isalnum() or char in "-_" else "-" for char in scope) or "site"


@dataclass(frozen=True)
class SnapshotResult:
    snapshot: TrainingSnapshot
    created: bool  # False: the data had not changed since the last snapshot of this scope


def snapshot_build(*, task: str, scope: str) -> SnapshotResult:
    """Snapshot the scope's current data; the last snapshot itself when nothing changed."""
    kind = kind_for_task(task)
    source = training_source(kind)
    read = source.rows(scope)
    rows = rows_of(read.rows)
    content = snapshot_content(rows)
    digest = hashlib.sha256(content).hexdigest()
    last = TrainingSnapshot.objects.filter(task=task, scope=scope).first()
    if last is not None and last.content_hash == digest and Path(last.path).exists():
        return SnapshotResult(snapshot=last, created=False)
    path = Path(settings.EDUAI_TRAINING_DIR) / "snapshots" / kind / _safe(scope) / f"{digest[:24]}.jsonl"
    atomic_write(path, content)
    counts = Counter(row_split(row["id"]) for row in rows)
    try:
        with transaction.atomic():
            snapshot = TrainingSnapshot.objects.create(
                task=task,
                scope=scope,
                kind=kind,
                path=str(path),
                content_hash=digest,
                row_count=len(rows),
                split_counts={split: counts.get(split, 0) for split in SPLITS},
                source_count=source.count(scope),
                redactions=dict(read.redactions),
            )
    except IntegrityError:
        # The same data was snapshot before (then changed and changed back), or concurrently.
        snapshot = TrainingSnapshot.objects.get(task=task, scope=scope, content_hash=digest)
        if last is not None and last.pk == snapshot.pk:
            return SnapshotResult(snapshot=snapshot, created=False)
        # It becomes the latest snapshot again, so the next build compares with it.
        TrainingSnapshot.objects.filter(pk=snapshot.pk).update(created_at=timezone.now(), path=str(path))
        snapshot.refresh_from_db()
    return SnapshotResult(snapshot=snapshot, created=True)


def snapshot_rows(snapshot: TrainingSnapshot, split: str | None = None) -> list[dict[str, Any]]:
    """The rows of a snapshot (of one split), checked against its content hash."""
    data = Path(snapshot.path).read_bytes()
    if hashlib.sha256(data).hexdigest() != snapshot.content_hash:
        raise ValueError(f"Snapshot file {snapshot.path} does not match its hash {snapshot.content_hash}.")
    rows = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    return [row for row in rows if split is None or row["split"] == split]


def snapshots_erase_user(user_id: int, pseudonyms: frozenset[str]) -> int:
    """Erasure: drop a user's rows (by their row ids, or their course pseudonyms) from every
    snapshot file, rewritten atomically with its hash and counts; returns the rows dropped."""
    from .sources import user_row_ids

    ids = user_row_ids(user_id)
    dropped = 0
    for snapshot in TrainingSnapshot.objects.all():
        path = Path(snapshot.path)
        if not path.exists():
            continue
        rows = [json.loads(line) for line in path.read_bytes().decode().splitlines() if line.strip()]
        kept = [row for row in rows if row.get("id") not in ids and row.get("student") not in pseudonyms]
        if len(kept) == len(rows):
            continue
        content = (
            "\n".join(json.dumps(row, sort_keys=True, ensure_ascii=False) for row in kept) + "\n"
        ).encode()
        content = content if kept else b""
        atomic_write(path, content)
        splits = {name: sum(row["split"] == name for row in kept) for name in ("train", "validation", "test")}
        TrainingSnapshot.objects.filter(pk=snapshot.pk).update(
            content_hash=hashlib.sha256(content).hexdigest(), row_count=len(kept), split_counts=splits
        )
        dropped += len(rows) - len(kept)
    return dropped
