"""Sentence embeddings for the scorers, always from the model runtime (``eduai.ml.runtime``).

Texts are de-duplicated and embedded in one batched call. Evaluations can keep the vectors on
disk between runs (``embedding_cache``): the cache is keyed by the encoder's checksum, so a new
encoder version never reuses another version's vectors.
"""

import contextvars
import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

_cache_directory: contextvars.ContextVar[Path | None] = contextvars.ContextVar(
    "grading_embedding_cache", default=None
)
_memory: dict[Path, dict[str, np.ndarray]] = {}
_memory_lock = threading.Lock()


@contextmanager
def embedding_cache(directory: Path) -> Iterator[None]:
    """Within this block, embeddings are read from and added to a cache under ``directory``."""
    token = _cache_directory.set(directory)
    try:
        yield
    finally:
        _cache_directory.reset(token)


def _key(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _encoder_tag() -> str:
    from eduai.ml.models import ModelVersion
    from eduai.ml.selectors import model_version_production
    from eduai.ml.services import bundled_model_ensure

    version = model_version_production(task=ModelVersion.Task.EMBEDDING, scope="")
    if version is None:
        version = bundled_model_ensure(task=ModelVersion.Task.EMBEDDING)
    return (version.sha256 if version is not None else "unknown")[:16]


def _cache_file(directory: Path) -> Path:
    return directory / f"embeddings-{_encoder_tag()}.npz"


def _cache_load(path: Path) -> dict[str, np.ndarray]:
    with _memory_lock:
        if path not in _memory:
            stored: dict[str, np.ndarray] = {}
            if path.exists():
                with np.load(path) as data:
                    stored = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            _memory[path] = stored
        return _memory[path]


def _cache_store(path: Path, cache: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part.npz")
    keys = np.array(list(cache.keys()))
    vectors = np.stack(list(cache.values())) if cache else np.zeros((0, 0), dtype=np.float32)
    np.savez(partial, keys=keys, vectors=vectors)
    partial.replace(path)


def embed_texts(texts: Sequence[str]) -> np.ndarray:
    """Unit-length embeddings of ``texts`` (one row each), through the runtime, batched."""
    unique = list(dict.fromkeys(texts))
    directory = _cache_directory.get()
    cache: dict[str, np.ndarray] = {}
    path: Path | None = None
    if directory is not None:
        path = _cache_file(directory)
        cache = _cache_load(path)
    keys = {text: _key(text) for text in unique}
    missing = [text for text in unique if keys[text] not in cache]
    found: dict[str, np.ndarray] = {}
    if missing:
        from eduai.ml import runtime

        vectors = np.asarray(runtime.embed(missing), dtype=np.float32)
        found = dict(zip(missing, vectors, strict=True))
        if path is not None:
            with _memory_lock:
                cache.update({keys[text]: vector for text, vector in found.items()})
                _cache_store(path, cache)
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    rows = [found[text] if text in found else cache[keys[text]] for text in texts]
    return np.stack(rows).astype(np.float32)
