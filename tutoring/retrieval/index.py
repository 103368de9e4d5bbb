"""A course's retrieval index: dense vectors plus BM25, fused into one ranking.

Fusion (tuned on OpenBookQA train questions, never dev; see ``fusion.py``): the lexical score is
divided by the query's best lexical score, so both sides lie in about [0, 1], then
``score = dense_weight * cosine + (1 - dense_weight) * lexical``. Reciprocal-rank fusion is the
alternative (``Fusion(method="rrf")``). Preferred ids (endorsed FAQ answers) get ``preferred_bonus``
added, so among comparably relevant passages they come first.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from .lexical import BM25, lexical_tokens

INDEX_FORMAT = 1


@dataclass(frozen=True)
class Fusion:
    method: Literal["weighted", "rrf", "dense", "lexical"] = "weighted"
    dense_weight: float = 0.8
    rrf_k: int = 60
    preferred_bonus: float = 0.05
    bm25_k1: float = 1.2
    bm25_b: float = 0.75


DEFAULT_FUSION = Fusion()


@dataclass(frozen=True)
class Hit:
    id: int
    score: float  # fused; higher is better
    dense_score: float  # cosine similarity of the query and passage vectors
    lexical_score: float  # BM25, divided by the query's best BM25 score (0..1)


@dataclass
class CourseIndex:
    ids: np.ndarray  # int64, one per passage
    texts: list[str]
    embeddings: np.ndarray  # float32, unit rows
    fusion: Fusion = DEFAULT_FUSION
    _bm25: BM25 = field(init=False, repr=False)
    _positions: dict[int, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts) or len(self.ids) != len(self.embeddings):
            raise ValueError(
                f"ids ({len(self.ids)}), texts ({len(self.texts)}) and embeddings "
                f"({len(self.embeddings)}) must have the same length."
            )
        if len(set(self.ids.tolist())) != len(self.ids):
            raise ValueError("Passage ids must be unique.")
        self._positions = {int(passage_id): i for i, passage_id in enumerate(self.ids.tolist())}
        self._bm25 = BM25(
            [lexical_tokens(text) for text in self.texts], k1=self.fusion.bm25_k1, b=self.fusion.bm25_b
        )

    @classmethod
    def build(
        cls,
        ids: Sequence[int],
        texts: Sequence[str],
        embeddings: np.ndarray,
        *,
        fusion: Fusion = DEFAULT_FUSION,
    ) -> "CourseIndex":
        vectors = np.asarray(embeddings, dtype=np.float32)
        if vectors.ndim != 2:
            vectors = vectors.reshape(len(texts), -1)
        return cls(np.asarray(list(ids), dtype=np.int64), list(texts), vectors, fusion)

    def __len__(self) -> int:
        return len(self.ids)

    def text(self, passage_id: int) -> str:
        """The indexed text of a passage."""
        return self.texts[self._positions[passage_id]]

    def scores(self, query: str, query_embedding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(cosine, normalised BM25) of every passage for the query."""
        if not len(self.ids):
            empty = np.zeros(0, dtype=np.float32)
            return empty, empty
        dense = self.embeddings @ np.asarray(query_embedding, dtype=np.float32).reshape(-1)
        lexical = self._bm25.scores(lexical_tokens(query))
        best = float(lexical.max())
        if best > 0:
            lexical = lexical / best
        return dense.astype(np.float32), lexical

    def fused(self, dense: np.ndarray, lexical: np.ndarray, fusion: Fusion | None = None) -> np.ndarray:
        fusion = fusion or self.fusion
        if fusion.method == "dense":
            return dense
        if fusion.method == "lexical":
            return lexical
        if fusion.method == "rrf":
            return _rrf(dense, fusion.rrf_k) * fusion.dense_weight + _rrf(lexical, fusion.rrf_k) * (
                1 - fusion.dense_weight
            )
        return fusion.dense_weight * dense + (1 - fusion.dense_weight) * lexical

    def search(
        self,
        query: str,
        query_embedding: np.ndarray,
        *,
        k: int = 5,
        preferred_ids: frozenset[int] = frozenset(),
        fusion: Fusion | None = None,
    ) -> list[Hit]:
        """The ``k`` best passages for the query, best first."""
        fusion = fusion or self.fusion
        dense, lexical = self.scores(query, query_embedding)
        fused = self.fused(dense, lexical, fusion)
        if preferred_ids:
            bonus = (
                fusion.preferred_bonus / (fusion.rrf_k + 1)
                if fusion.method == "rrf"
                else fusion.preferred_bonus
            )
            fused = fused + bonus * np.isin(self.ids, np.fromiter(preferred_ids, dtype=np.int64))
        k = min(k, len(fused))
        if k <= 0:
            return []
        top = np.argpartition(-fused, k - 1)[:k]
        top = top[np.lexsort((self.ids[top], -fused[top]))]
        return [Hit(int(self.ids[i]), float(fused[i]), float(dense[i]), float(lexical[i])) for i in top]

    def save(self, path: Path | str) -> None:
        """Write the index to one ``.npz`` file (no pickles)."""
        with Path(path).open("wb") as handle:
            np.savez_compressed(
                handle,
                format=np.array(INDEX_FORMAT),
                ids=self.ids,
                texts=np.array(self.texts, dtype=np.str_),
                embeddings=self.embeddings,
                fusion=np.array(json.dumps(asdict(self.fusion))),
            )

    @classmethod
    def load(cls, path: Path | str) -> "CourseIndex":
        with np.load(Path(path), allow_pickle=False) as data:
            if int(data["format"]) != INDEX_FORMAT:
                raise ValueError(f"Index {path} has format {int(data['format'])}, expected {INDEX_FORMAT}.")
            fusion = Fusion(**json.loads(str(data["fusion"])))
            return cls(data["ids"], [str(text) for text in data["texts"]], data["embeddings"], fusion)


def _rrf(scores: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal-rank score 1 / (k + rank) of each item (rank 1 = best)."""
    ranks = np.empty(len(scores), dtype=np.float32)
    ranks[np.argsort(-scores, kind="stable")] = np.arange(1, len(scores) + 1, dtype=np.float32)
    return 1.0 / (k + ranks)
