"""Embeddings for retrieval, always through the model runtime (``eduai.ml.runtime.embed``).

A course may have its own production embedding model (scope ``course:<id>``, e.g. one fine-tuned
on its FAQ pairs); without one, the site-wide encoder serves. An encoder directory may hold a
``retrieval.json`` with ``query_prefix``/``passage_prefix`` (e5-style models need ``"query: "`` and
``"passage: "``) and a calibrated ``relevance_threshold``; e5 models without one get the e5
prefixes. Store ``embedding_model_id(scope=...)`` with an index and rebuild when it changes:
vectors of two different models are not comparable.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

RETRIEVAL_CONFIG = "retrieval.json"
# Below this cosine between a question and its best passage, nothing in the course is relevant
# enough to answer from (bundled all-MiniLM-L6-v2; calibrated in bench/tutoring_benchmarks.py).
RELEVANCE_THRESHOLD = 0.30


@dataclass(frozen=True)
class EncoderSettings:
    model_id: int
    scope: str  # the scope actually serving ("" = site-wide)
    query_prefix: str = ""
    passage_prefix: str = ""
    relevance_threshold: float = RELEVANCE_THRESHOLD


def encoder_config_read(directory: Path) -> dict[str, Any]:
    """The ``retrieval.json`` of an encoder directory (empty when there is none)."""
    path = Path(directory) / RETRIEVAL_CONFIG
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def encoder_settings(*, scope: str = "") -> EncoderSettings:
    """Which model embeds for ``scope`` (falling back to the site-wide one) and its prefixes."""
    from eduai.ml.models import ModelVersion
    from eduai.ml.selectors import model_version_production
    from eduai.ml.services import bundled_model_ensure

    version = model_version_production(task=ModelVersion.Task.EMBEDDING, scope=scope) if scope else None
    if version is None:
        scope = ""
        version = bundled_model_ensure(task=ModelVersion.Task.EMBEDDING)
    config = encoder_config_read(Path(version.weights_path)) if version.weights_path else {}
    e5 = "e5" in f"{version.name} {version.base_model}".lower()
    return EncoderSettings(
        model_id=version.pk,
        scope=scope,
        query_prefix=str(config.get("query_prefix", "query: " if e5 else "")),
        passage_prefix=str(config.get("passage_prefix", "passage: " if e5 else "")),
        relevance_threshold=float(config.get("relevance_threshold", RELEVANCE_THRESHOLD)),
    )


def embedding_model_id(*, scope: str = "") -> int:
    """The ModelVersion id that embeds for ``scope`` now (store it with the index)."""
    return encoder_settings(scope=scope).model_id


def relevance_threshold(*, scope: str = "") -> float:
    """Minimum dense score of a hit worth answering from, for the encoder serving ``scope``."""
    return encoder_settings(scope=scope).relevance_threshold


def _embed(texts: Sequence[str], prefix: str, scope: str) -> np.ndarray:
    from eduai.ml import runtime

    vectors = runtime.embed([prefix + text for text in texts], scope=scope)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def embed_passages(texts: Sequence[str], *, scope: str = "") -> np.ndarray:
    """Unit-length float32 vectors of passages (chunk ``indexed_text``), one row per text."""
    settings = encoder_settings(scope=scope)
    return _embed(texts, settings.passage_prefix, settings.scope)


def embed_queries(texts: Sequence[str], *, scope: str = "") -> np.ndarray:
    """Unit-length float32 vectors of questions, one row per text."""
    settings = encoder_settings(scope=scope)
    return _embed(texts, settings.query_prefix, settings.scope)


def encoder_directory_scope(directory: Path, *, prefix: str = "eval") -> str:
    """Serve the encoder in ``directory`` through the runtime under its own scope (for evaluation)."""
    from eduai.ml.models import ModelVersion
    from eduai.ml.services import model_directory_serve

    base_model = str(encoder_config_read(directory).get("base_model", ""))
    return model_directory_serve(
        directory, task=ModelVersion.Task.EMBEDDING, base_model=base_model, prefix=prefix
    )
