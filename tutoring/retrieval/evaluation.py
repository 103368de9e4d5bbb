"""Retrieval evaluation on a question set: recall@k, MRR, and fusion tuning.

Questions are JSONL lines ``{"id", "question", "gold_passages": [...]}``; a retrieved chunk is a
hit when it contains one of the question's gold passages (compared case-folded with whitespace
collapsed). Used by ``manage.py kb_eval`` and ``bench/tutoring_benchmarks.py``.
"""

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from .chunking import DEFAULT_MAX_TOKENS, ChunkText, chunk_document, token_count
from .index import DEFAULT_FUSION, CourseIndex, Fusion
from .rerank import RerankSettings, rerank_hits

MATERIAL_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")


class EvaluationInputError(Exception):
    """A materials or questions file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class EvalQuestion:
    id: str
    question: str
    gold_passages: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    title: str
    text: str


@dataclass(frozen=True)
class RetrievalScores:
    questions: int
    recall: dict[int, float]  # k -> fraction of questions with a hit in the top k
    mrr: float  # mean reciprocal rank of the first hit (0 when there is none)
    unanswerable: int  # questions whose gold passage is in no chunk at all


def normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _unquote(line: str) -> str:
    """A line wrapped in one pair of double quotes (CSV style) loses them."""
    if len(line) >= 2 and line[0] == line[-1] == '"':
        return line[1:-1].replace('""', '"')
    return line


def documents_read(path: Path, *, one_document_per_line: bool = False) -> list[Document]:
    """Documents of a file, or of every material file in a directory (sorted by name)."""
    path = Path(path)
    if not path.exists():
        raise EvaluationInputError(f"Materials path {path} does not exist.")
    files = (
        sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in MATERIAL_SUFFIXES)
        if path.is_dir()
        else [path]
    )
    if not files:
        raise EvaluationInputError(f"No material files ({', '.join(MATERIAL_SUFFIXES)}) in {path}.")
    documents: list[Document] = []
    for file in files:
        text = _material_text(file)
        if one_document_per_line:
            documents.extend(
                Document(f"{file.name}:{number}", _unquote(line.strip()))
                for number, line in enumerate(text.splitlines(), start=1)
                if line.strip()
            )
        elif text.strip():
            documents.append(Document(file.stem, text))
    if not documents:
        raise EvaluationInputError(f"The materials at {path} hold no text.")
    return documents


def _material_text(file: Path) -> str:
    if file.suffix.lower() in (".txt", ".md", ".markdown", ""):
        try:
            return file.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            raise EvaluationInputError(f"{file} is not UTF-8 text: {error}") from error
    from eduai.documents import DocumentError, extract_text

    try:
        return extract_text(filename=file.name, data=file.read_bytes())
    except DocumentError as error:
        raise EvaluationInputError(f"{file}: {error}") from error


def questions_read(path: Path) -> list[EvalQuestion]:
    path = Path(path)
    if not path.is_file():
        raise EvaluationInputError(f"Questions file {path} does not exist.")
    questions = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise EvaluationInputError(f"{path}, line {number}: not JSON ({error.msg}).") from error
            if not isinstance(record, dict):
                raise EvaluationInputError(f"{path}, line {number}: expected a JSON object.")
            question, gold = record.get("question"), record.get("gold_passages")
            if not isinstance(question, str) or not question.strip():
                raise EvaluationInputError(f'{path}, line {number}: "question" must be a non-empty string.')
            if (
                not isinstance(gold, list)
                or not gold
                or not all(isinstance(item, str) and item.strip() for item in gold)
            ):
                raise EvaluationInputError(
                    f'{path}, line {number}: "gold_passages" must be a non-empty list of strings.'
                )
            questions.append(EvalQuestion(str(record.get("id", number)), question, tuple(gold)))
    if not questions:
        raise EvaluationInputError(f"Questions file {path} holds no questions.")
    return questions


@dataclass(frozen=True)
class ChunkedMaterials:
    chunks: list[ChunkText]  # ordinals renumbered across documents: chunk i has id i
    document_of: list[int]


def materials_chunk(
    documents: Sequence[Document], *, max_tokens: int = DEFAULT_MAX_TOKENS
) -> ChunkedMaterials:
    chunks: list[ChunkText] = []
    owners: list[int] = []
    for number, document in enumerate(documents):
        for chunk in chunk_document(document.text, max_tokens=max_tokens):
            chunks.append(replace(chunk, ordinal=len(chunks)))
            owners.append(number)
    return ChunkedMaterials(chunks, owners)


def chunk_size_summary(chunks: Sequence[ChunkText]) -> dict[str, float]:
    sizes = np.array([token_count(chunk.text) for chunk in chunks] or [0])
    quantiles = np.percentile(sizes, [0, 10, 50, 90, 100])
    return {
        "chunks": len(chunks),
        "mean": float(sizes.mean()),
        **{
            name: float(value)
            for name, value in zip(("min", "p10", "p50", "p90", "max"), quantiles, strict=True)
        },
    }


def gold_chunks(questions: Sequence[EvalQuestion], texts: Sequence[str]) -> list[np.ndarray]:
    """For each question, the indices of the chunks containing one of its gold passages."""
    normalised = [normalise(text) for text in texts]
    by_gold: dict[str, np.ndarray] = {}
    result = []
    for question in questions:
        found: set[int] = set()
        for gold in question.gold_passages:
            key = normalise(gold)
            if key not in by_gold:
                by_gold[key] = np.array(
                    [i for i, text in enumerate(normalised) if key in text], dtype=np.int64
                )
            found.update(by_gold[key].tolist())
        result.append(np.array(sorted(found), dtype=np.int64))
    return result


def first_hit_ranks(
    index: CourseIndex,
    questions: Sequence[EvalQuestion],
    query_vectors: np.ndarray,
    gold: Sequence[np.ndarray],
    fusions: Iterable[Fusion],
) -> dict[Fusion, np.ndarray]:
    """Rank (1 = best; 0 = never) of the first gold chunk for each question, for each fusion."""
    fusions = list(fusions)
    ranks = {fusion: np.zeros(len(questions), dtype=np.int64) for fusion in fusions}
    for number, question in enumerate(questions):
        if not len(gold[number]):
            continue
        dense, lexical = index.scores(question.question, query_vectors[number])
        for fusion in fusions:
            fused = index.fused(dense, lexical, fusion)
            best_gold = fused[gold[number]].max()
            ranks[fusion][number] = 1 + int((fused > best_gold).sum())
    return ranks


def reranked_first_hit_ranks(
    index: CourseIndex,
    questions: Sequence[EvalQuestion],
    query_vectors: np.ndarray,
    gold: Sequence[np.ndarray],
    hybrid_ranks: np.ndarray,
    reranker: RerankSettings,
) -> np.ndarray:
    """Rank of the first gold chunk after re-ranking the hybrid's top ``reranker.depth``.

    A question whose gold chunk is below that depth keeps its hybrid rank (re-ranking never
    reaches it), as in the product.
    """
    ranks = hybrid_ranks.copy()
    for number, question in enumerate(questions):
        if not len(gold[number]) or hybrid_ranks[number] > reranker.depth:
            continue
        hits = index.search(question.question, query_vectors[number], k=reranker.depth)
        reordered = rerank_hits(question.question, hits, [index.text(hit.id) for hit in hits], reranker)
        golden = set(gold[number].tolist())
        # (A gold chunk tied at the depth boundary may be left out of the hits: it keeps its rank.)
        places = [place for place, hit in enumerate(reordered, start=1) if hit.id in golden]
        ranks[number] = places[0] if places else ranks[number]
    return ranks


def scores_from_ranks(
    ranks: np.ndarray, gold: Sequence[np.ndarray], ks: Sequence[int] = (1, 5, 10)
) -> RetrievalScores:
    found = ranks > 0
    reciprocal = np.where(found, 1.0 / np.maximum(ranks, 1), 0.0)
    return RetrievalScores(
        questions=len(ranks),
        recall={k: float((found & (ranks <= k)).mean()) for k in ks},
        mrr=float(reciprocal.mean()),
        unanswerable=sum(1 for item in gold if not len(item)),
    )


DENSE_WEIGHTS = tuple(round(0.05 * step, 2) for step in range(5, 20))
RRF_KS = (5, 10, 20, 40, 60)


def fusion_tune(
    index: CourseIndex,
    questions: Sequence[EvalQuestion],
    query_vectors: np.ndarray,
    *,
    base: Fusion | None = None,
) -> tuple[Fusion, RetrievalScores]:
    """The weighted or RRF fusion with the best recall@5 (then MRR) on ``questions``.

    Tune on training questions only: the chosen fusion is then evaluated on held-out ones.
    """
    base = base or index.fusion
    candidates = [replace(base, method="weighted", dense_weight=w) for w in DENSE_WEIGHTS] + [
        replace(base, method="rrf", dense_weight=w, rrf_k=k)
        for w, k in itertools.product((0.5, 0.6, 0.7, 0.8), RRF_KS)
    ]
    gold = gold_chunks(questions, index.texts)
    ranks = first_hit_ranks(index, questions, query_vectors, gold, candidates)
    scored = [(fusion, scores_from_ranks(rank, gold)) for fusion, rank in ranks.items()]
    return max(scored, key=lambda item: (item[1].recall[5], item[1].mrr))


def safe_scope_name(text: str) -> str:
    return re.sub(r"[^a-z0-9_.-]+", "-", text.lower()).strip("-")[:40]


@dataclass(frozen=True)
class KbEvaluation:
    chunk_sizes: dict[str, float]
    questions: int
    unanswerable: int
    rows: list[tuple[str, RetrievalScores]]  # (variant, scores)
    fusion: Fusion  # what "hybrid" used
    tuned_on: int  # training questions the fusion was tuned on (0 = default fusion)
    seconds: dict[str, float]


def kb_evaluate(
    documents: Sequence[Document],
    questions: Sequence[EvalQuestion],
    *,
    scope: str = "",
    max_tokens: int = DEFAULT_MAX_TOKENS,
    fusion: Fusion | None = None,
    tune_questions: Sequence[EvalQuestion] = (),
    reranker: RerankSettings | None = None,
) -> KbEvaluation:
    """Chunk, embed and index the documents as the product does, then score retrieval.

    Variants: dense alone, lexical (BM25) alone, and the hybrid with ``fusion`` (or, with
    ``tune_questions``, the fusion tuned on those questions; they must not be the evaluated ones);
    with ``reranker``, also the hybrid's top ``reranker.depth`` re-ranked by it.
    """
    import time

    from .embedding import embed_passages, embed_queries

    seconds: dict[str, float] = {}
    started = time.perf_counter()
    chunked = materials_chunk(documents, max_tokens=max_tokens)
    texts = [chunk.indexed_text for chunk in chunked.chunks]
    seconds["chunk"] = time.perf_counter() - started
    started = time.perf_counter()
    vectors = embed_passages(texts, scope=scope)
    seconds["embed passages"] = time.perf_counter() - started
    started = time.perf_counter()
    index = CourseIndex.build(range(len(texts)), texts, vectors, fusion=fusion or DEFAULT_FUSION)
    seconds["index"] = time.perf_counter() - started
    tuned_on = 0
    if tune_questions:
        started = time.perf_counter()
        tune_vectors = embed_queries([question.question for question in tune_questions], scope=scope)
        index.fusion, _ = fusion_tune(index, tune_questions, tune_vectors)
        tuned_on = len(tune_questions)
        seconds["tune fusion"] = time.perf_counter() - started
    started = time.perf_counter()
    query_vectors = embed_queries([question.question for question in questions], scope=scope)
    seconds["embed questions"] = time.perf_counter() - started
    started = time.perf_counter()
    gold = gold_chunks(questions, texts)
    variants = {
        "dense": replace(index.fusion, method="dense"),
        "lexical (BM25)": replace(index.fusion, method="lexical"),
        "hybrid": index.fusion,
    }
    ranks = first_hit_ranks(index, questions, query_vectors, gold, variants.values())
    seconds["search"] = time.perf_counter() - started
    rows = [(name, scores_from_ranks(ranks[variant], gold)) for name, variant in variants.items()]
    if reranker is not None:
        started = time.perf_counter()
        reranked = reranked_first_hit_ranks(
            index, questions, query_vectors, gold, ranks[index.fusion], reranker
        )
        rows.append(
            (
                f"hybrid + re-ranking (top {reranker.depth}, weight {reranker.weight:g})",
                scores_from_ranks(reranked, gold),
            )
        )
        seconds["re-rank"] = time.perf_counter() - started
    return KbEvaluation(
        chunk_sizes=chunk_size_summary(chunked.chunks),
        questions=len(questions),
        unanswerable=sum(1 for item in gold if not len(item)),
        rows=rows,
        fusion=index.fusion,
        tuned_on=tuned_on,
        seconds=seconds,
    )
