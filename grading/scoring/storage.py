"""Saving and loading scorers: a directory with ``scorer.json`` (kind, format version, small
parameters) and, for large arrays, ``arrays.npz``; written atomically (``eduai.ml.storage``)."""

import json
from pathlib import Path
from typing import Any

import numpy as np

from eduai.ml.storage import atomic_directory

from .types import ScoringError

FORMAT_VERSION = 1
META_FILE = "scorer.json"
ARRAYS_FILE = "arrays.npz"


def scorer_write(directory: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray] | None = None) -> None:
    with atomic_directory(Path(directory)) as partial:
        (partial / META_FILE).write_text(json.dumps({"format_version": FORMAT_VERSION, **meta}))
        if arrays:
            np.savez_compressed(partial / ARRAYS_FILE, allow_pickle=False, **arrays)


def scorer_read(directory: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    path = Path(directory) / META_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError as error:
        raise ScoringError(f"No saved scorer in {directory} (missing {META_FILE}).") from error
    except (OSError, json.JSONDecodeError) as error:
        raise ScoringError(f"The scorer in {directory} is unreadable: {error}") from error
    if meta.get("format_version") != FORMAT_VERSION:
        raise ScoringError(
            f"The scorer in {directory} has format version {meta.get('format_version')!r}; "
            f"this code reads version {FORMAT_VERSION}."
        )
    arrays: dict[str, np.ndarray] = {}
    if (Path(directory) / ARRAYS_FILE).exists():
        with np.load(Path(directory) / ARRAYS_FILE, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    return meta, arrays
