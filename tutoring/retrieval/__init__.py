"""Course retrieval: chunking, lexical tokens, the hybrid (dense + BM25) index, embeddings.

Pure functions and classes (no Django models); embeddings go through ``eduai.ml.runtime``.

    chunks = chunk_document(text, title=material.title)
    vectors = embed_passages([c.indexed_text for c in chunks], scope=f"course:{course.pk}")
    index = CourseIndex.build(chunk_ids, [c.indexed_text for c in chunks], vectors)
    hits = index.search(question, embed_queries([question], scope=...)[0], k=5, preferred_ids=faq_ids)
    relevant = [h for h in hits if h.dense_score >= relevance_threshold(scope=...)]
"""

from .chunking import DEFAULT_MAX_TOKENS, ChunkText, chunk_document, token_count
from .embedding import (
    RELEVANCE_THRESHOLD,
    EncoderSettings,
    embed_passages,
    embed_queries,
    embedding_model_id,
    encoder_settings,
    relevance_threshold,
)
from .index import DEFAULT_FUSION, CourseIndex, Fusion, Hit
from .lexical import BM25, lexical_tokens

__all__ = [
    "BM25",
    "DEFAULT_FUSION",
    "DEFAULT_MAX_TOKENS",
    "RELEVANCE_THRESHOLD",
    "ChunkText",
    "CourseIndex",
    "EncoderSettings",
    "Fusion",
    "Hit",
    "chunk_document",
    "embed_passages",
    "embed_queries",
    "embedding_model_id",
    "encoder_settings",
    "lexical_tokens",
    "relevance_threshold",
    "token_count",
]
