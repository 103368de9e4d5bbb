"""Re-ranking: a cross-encoder re-orders the index's best passages (``eduai.ml.runtime.rerank``).

A scope re-ranks when it has a production model of task ``reranking`` (its course's own, else a
site-wide one; none is bundled, one comes from ``reranker_finetune``). The model directory's
``rerank.json`` says how many of the index's passages it reads (``depth``) and how much its score
counts against the index's (``weight``): both scores are standardised over the candidates (mean
0, deviation 1) and mixed ``weight * reranker + (1 - weight) * index``, so a confident index
ranking is not thrown away on one odd cross-encoder score.

    candidates = index.search(question, vector, k=settings.depth)
    hits = rerank_hits(question, candidates, [index.text(h.id) for h in candidates], settings)[:5]
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .index import Hit

RERANK_CONFIG = "rerank.json"
DEFAULT_DEPTH = 20
DEFAULT_WEIGHT = 0.7


@dataclass(frozen=True)
class RerankSettings:
    model_id: int
    scope: str  # the scope actually serving ("" = site-wide)
    depth: int = DEFAULT_DEPTH
    weight: float = DEFAULT_WEIGHT


def rerank_config_read(directory: Path) -> dict[str, Any]:
    """The ``rerank.json`` of a re-ranker directory (empty when there is none)."""
    path = Path(directory) / RERANK_CONFIG
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def reranker_settings(*, scope: str = "") -> RerankSettings | None:
    """The re-ranking model serving ``scope`` (falling back to a site-wide one), or None."""
    from eduai.ml.models import ModelVersion
    from eduai.ml.selectors import model_version_production

    version = None
    for candidate in dict.fromkeys((scope, "")):
        version = model_version_production(task=ModelVersion.Task.RERANKING, scope=candidate)
        if version is not None:
            scope = candidate
            break
    if version is None:
        return None
    config = rerank_config_read(Path(version.weights_path))
    return RerankSettings(
        model_id=version.pk,
        scope=scope,
        depth=max(1, int(config.get("depth", DEFAULT_DEPTH))),
        weight=min(1.0, max(0.0, float(config.get("weight", DEFAULT_WEIGHT)))),
    )


def reranker_directory_scope(directory: Path) -> str:
    """Serve the re-ranker in ``directory`` under a scope of its own (for evaluation); the scope."""
    from eduai.ml.models import ModelVersion
    from eduai.ml.services import model_directory_serve

    base_model = str(rerank_config_read(directory).get("base_model", ""))
    return model_directory_serve(directory, task=ModelVersion.Task.RERANKING, base_model=base_model)


def reranker_register(*, directory: Path, scope: str, promote: bool = True) -> int:
    """Record a trained re-ranker as a ModelVersion (task reranking) for ``scope``; its id.

    ``scope`` is e.g. ``course:42`` (or "" for every course without its own); with ``promote``
    it re-ranks that scope's retrieval from the next question on.
    """
    from eduai.ml.models import ModelVersion
    from eduai.ml.services import model_version_promote, model_version_register

    directory = Path(directory).resolve()
    config = rerank_config_read(directory)
    version = model_version_register(
        task=ModelVersion.Task.RERANKING,
        name=directory.name,
        base_model=str(config.get("base_model", "")),
        weights_path=directory,
        scope=scope,
        metrics={"recall_at_5_tuning": config.get("recall_at_5_tuning", {})},
    )
    if promote:
        model_version_promote(version=version)
    return version.pk


def _standardised(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 1e-9 else np.zeros_like(values)


def rerank_mix(first: np.ndarray, reranker: np.ndarray, weight: float) -> np.ndarray:
    """The mixed score of each candidate: standardised reranker and first-stage scores."""
    first = np.asarray(first, dtype=np.float64)
    reranker = np.asarray(reranker, dtype=np.float64)
    return weight * _standardised(reranker) + (1 - weight) * _standardised(first)


def rerank_order(first: np.ndarray, reranker: np.ndarray, weight: float) -> np.ndarray:
    """Candidate positions best first (ties keep the first stage's order)."""
    return np.argsort(-rerank_mix(first, reranker, weight), kind="stable")


def rerank_hits(
    question: str, hits: Sequence[Hit], texts: Sequence[str], settings: RerankSettings
) -> list[Hit]:
    """``hits`` (the index's, best first; ``texts`` theirs) re-ordered by the re-ranker.

    Each hit's ``score`` becomes the mixed score; ``dense_score`` (what the relevance threshold
    reads) is kept.
    """
    from eduai.ml import runtime

    if len(hits) < 2:
        return list(hits)
    scores = runtime.rerank(question, texts, scope=settings.scope)
    mixed = rerank_mix(np.array([hit.score for hit in hits]), scores, settings.weight)
    return [replace(hits[i], score=float(mixed[i])) for i in np.argsort(-mixed, kind="stable")]
