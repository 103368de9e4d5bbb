# ruff: noqa: RUF001
"""The hybrid course index with real embeddings from the bundled encoder (through the runtime)."""

import numpy as np
import pytest

from tutoring.retrieval import (
    CourseIndex,
    Fusion,
    embed_passages,
    embed_queries,
    embedding_model_id,
    relevance_threshold,
)
from tutoring.retrieval.evaluation import EvalQuestion, fusion_tune

pytestmark = pytest.mark.django_db

PASSAGES = {
    11: "Photosynthesis: plants use light energy to turn carbon dioxide and water into sugar.",
    12: "Mitochondria release energy from food during cellular respiration.",
    13: "The XQ-7 titration uses phenolphthalein as its indicator.",
    14: "Erosion by wind and water slowly wears rocks down into sand.",
    15: "光合作用是植物利用光能把二氧化碳和水变成糖的过程。",
}


@pytest.fixture
def index():
    ids, texts = list(PASSAGES), list(PASSAGES.values())
    return CourseIndex.build(ids, texts, embed_passages(texts))


def _top(index, query, **kwargs):
    return index.search(query, embed_queries([query])[0], **kwargs)


def test_search_finds_paraphrases_rare_terms_and_chinese(index):
    assert _top(index, "How do green plants make their food from sunlight?")[0].id == 11
    assert _top(index, "Which indicator does XQ-7 need?")[0].id == 13
    assert _top(index, "什么是光合作用？", k=2)[0].id == 15


def test_hits_carry_both_scores_and_are_ordered_by_the_fusion(index):
    hits = _top(index, "What wears rocks down into sand?", k=5)
    assert len(hits) == 5
    assert hits[0].id == 14
    assert hits[0].lexical_score == pytest.approx(1.0)
    assert [hit.score for hit in hits] == sorted((hit.score for hit in hits), reverse=True)
    weight = index.fusion.dense_weight
    assert hits[0].score == pytest.approx(weight * hits[0].dense_score + (1 - weight) * hits[0].lexical_score)


def test_lexical_only_and_dense_only_fusions_rank_by_their_own_score(index):
    query = "Which indicator does XQ-7 need?"
    vector = embed_queries([query])[0]
    lexical = index.search(query, vector, k=5, fusion=Fusion(method="lexical"))
    dense = index.search(query, vector, k=5, fusion=Fusion(method="dense"))
    assert [hit.score for hit in lexical] == [hit.lexical_score for hit in lexical]
    assert [hit.score for hit in dense] == [hit.dense_score for hit in dense]
    rrf = index.search(query, vector, k=5, fusion=Fusion(method="rrf", rrf_k=10, dense_weight=0.5))
    assert rrf[0].id == 13
    assert rrf[0].score == pytest.approx(1 / 11)


def test_preferred_ids_win_among_comparable_passages():
    texts = ["Plants need light to make sugar.", "Plants need light to make sugars."]
    index = CourseIndex.build([1, 2], texts, embed_passages(texts))
    query = "Why do plants need light?"
    assert _top(index, query, preferred_ids=frozenset({1}))[0].id == 1
    assert _top(index, query, preferred_ids=frozenset({2}))[0].id == 2


def test_off_topic_questions_fall_below_the_relevance_threshold(index):
    threshold = relevance_threshold()
    assert _top(index, "Who won the football world cup in 1998?")[0].dense_score < threshold
    assert _top(index, "What is the price of a pizza in Rome?")[0].dense_score < threshold
    assert _top(index, "How do plants make sugar from light?")[0].dense_score >= threshold


def test_save_and_load_give_the_same_results(index, tmp_path):
    path = tmp_path / "course.npz"
    index.save(path)
    loaded = CourseIndex.load(path)
    query = "energy release from food"
    assert _top(loaded, query, k=3) == _top(index, query, k=3)
    assert loaded.fusion == index.fusion


def test_bad_input_is_refused():
    vectors = embed_passages(["one", "two"])
    with pytest.raises(ValueError, match="same length"):
        CourseIndex.build([1], ["one", "two"], vectors)
    with pytest.raises(ValueError, match="unique"):
        CourseIndex.build([1, 1], ["one", "two"], vectors)
    empty = CourseIndex.build([], [], np.zeros((0, vectors.shape[1]), dtype=np.float32))
    assert empty.search("anything", vectors[0]) == []


def test_a_scope_without_its_own_encoder_uses_the_site_wide_one():
    assert embedding_model_id(scope="course:999999") == embedding_model_id()
    site = embed_queries(["photosynthesis"])
    course = embed_queries(["photosynthesis"], scope="course:999999")
    assert np.allclose(site, course, atol=1e-5)
    assert site.dtype == np.float32
    assert np.linalg.norm(site[0]) == pytest.approx(1.0, abs=1e-4)


def test_fusion_tuning_picks_a_fusion_that_scores_its_training_questions(index):
    questions = [
        EvalQuestion("1", "How do plants make food?", (PASSAGES[11],)),
        EvalQuestion("2", "XQ-7 indicator", (PASSAGES[13],)),
        EvalQuestion("3", "What turns rock into sand?", (PASSAGES[14],)),
    ]
    fusion, scores = fusion_tune(index, questions, embed_queries([q.question for q in questions]))
    assert fusion.method in ("weighted", "rrf")
    assert scores.recall[1] == 1.0
    assert scores.mrr == 1.0
