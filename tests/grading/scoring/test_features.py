import numpy as np
import pytest

from grading.scoring import CriterionResult, GradingItem, ScoringError
from grading.scoring.criteria import criteria_results
from grading.scoring.features import ESSAY_FEATURES, PAIR_FEATURES, Embedded, essay_features, pair_features
from grading.scoring.text import content_stems, negation_count, sentences, stem
from tests.grading.scoring.fixtures import RUBRIC, item


def test_stems_match_inflections_and_drop_stopwords():
    assert stem("heating") == stem("heated") == stem("heats") == "heat"
    assert content_stems("The plants are making food") == ["plant", "mak", "food"]
    assert negation_count("It doesn't move, not at all") == 2
    assert sentences("One. Two?\nThree") == ["One.", "Two?", "Three"]


def _embedded(count: int, reference_cosine: float) -> Embedded:
    answer = np.array([1.0, 0.0])
    reference = np.array([reference_cosine, np.sqrt(1 - reference_cosine**2)])
    return Embedded(
        answers=np.tile(answer, (count, 1)),
        questions=np.tile(np.array([0.0, 1.0]), (count, 1)),
        references=[reference[None, :] for _ in range(count)],
    )


def test_pair_features_reward_covering_the_reference_beyond_the_question():
    good = item("Plants use the energy of sunlight to make sugar by photosynthesis.")
    copy = item("Why do plants need sunlight?")
    features = pair_features([good, copy], _embedded(2, 0.8))
    column = {name: index for index, name in enumerate(PAIR_FEATURES)}
    assert features.shape == (2, len(PAIR_FEATURES))
    assert features[0, column["cos_ref_max"]] == pytest.approx(0.8)
    assert features[0, column["recall_ref_demoted_max"]] > 0.8
    assert features[1, column["recall_ref_demoted_max"]] == 0.0  # repeating the question earns nothing
    assert features[1, column["question_share"]] == 1.0


def test_negation_mismatch_and_empty_answers():
    column = {name: index for index, name in enumerate(PAIR_FEATURES)}
    features = pair_features([item("Plants do not use sunlight."), item("")], _embedded(2, 0.5))
    assert features[0, column["negation_mismatch"]] == 1.0
    assert features[1, column["empty"]] == 1.0


def test_essay_features_measure_length_vocabulary_and_unknown_words():
    short, long = "Short one.", "A much longer answer. It has two sentences, and some commas, too."
    features = essay_features([short, long], frozenset({"a", "much", "longer", "answer"}))
    column = {name: index for index, name in enumerate(ESSAY_FEATURES)}
    assert features[1, column["log_words"]] > features[0, column["log_words"]]
    assert features[1, column["log_sentences"]] > features[0, column["log_sentences"]]
    assert features[0, column["rare_share"]] == 1.0
    assert 0 < features[1, column["rare_share"]] < 1


def test_criteria_split_the_score_and_cite_the_supporting_sentence():
    answer = "I like plants. Photosynthesis is the process they use. The sky is blue."
    results = criteria_results(item(answer), 0.5)
    assert [result.name for result in results] == [criterion["name"] for criterion in RUBRIC]
    assert all(isinstance(result, CriterionResult) for result in results)
    assert sum(result.score for result in results) == pytest.approx(2.0)
    photosynthesis = results[0]
    assert photosynthesis.evidence == "Photosynthesis is the process they use."
    assert photosynthesis.score > results[1].score
    assert photosynthesis.met
    assert photosynthesis.max_points == 2


def test_criteria_snap_to_level_points_and_empty_rubric_gives_none():
    leveled = GradingItem(
        prompt_id="p",
        question="q",
        reference_answers=(),
        answer="anything",
        min_score=0,
        max_score=3,
        rubric=({"name": "Clarity", "points": 3, "levels": [{"points": 0}, {"points": 1.5}, {"points": 3}]},),
    )
    assert criteria_results(leveled, 0.9)[0].score == 3.0
    assert criteria_results(item("x").__class__(**{**item("x").__dict__, "rubric": ()}), 0.5) == ()


def test_an_item_needs_a_positive_score_range():
    with pytest.raises(ScoringError, match="must be above"):
        GradingItem(
            prompt_id="p", question="q", reference_answers=(), rubric=(), answer="a", min_score=2, max_score=2
        )
