"""Re-ranking: the mix of scores, training a cross-encoder, serving it for a course, kb_eval."""

import logging
import re
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from eduai.ml import runtime
from eduai.ml.models import ModelVersion
from tutoring.retrieval import CourseIndex, embed_passages, embed_queries
from tutoring.retrieval.rerank import (
    rerank_config_read,
    rerank_mix,
    rerank_order,
    reranker_register,
    reranker_settings,
)
from tutoring.retrieval.rerank_finetune import RerankFinetuneSettings, reranker_finetune
from tutoring.services import RETRIEVAL_K, _retrieve

# Made-up facts: the bundled encoder knows nothing about them, so what the re-ranker knows it
# learned here. Each question's passage shares no content word with it.
PAIRS = [
    ("What makes the zorblat glow?", "Luminous moss covers every zorblat."),
    ("Why does the quimby hum?", "Wind passing its reeds makes a quimby sing."),
    ("Where do fennix birds sleep?", "Hollow cliffs shelter fennix flocks at night."),
    ("What do grumbleweeds eat?", "Grumbleweeds absorb minerals from clay."),
    ("How fast can a trundlebeast run?", "A trundlebeast covers forty leagues daily."),
    ("What color is a snorwig's shell?", "Snorwig shells shine a deep violet."),
]
TUNE = [("Which creature has a violet shell?", "Snorwig shells shine a deep violet.")]
# Distractors repeat the questions' words: the encoder prefers them, the trained re-ranker not.
CORPUS = [
    "Zorblat glow festivals make every spring bright.",
    "The quimby hum is a dance step of the north.",
    "Fennix birds sleep soundly is a lullaby title.",
    "Grumbleweeds eat nothing, says an old joke.",
    "Trundlebeast run is the name of a race track.",
    "Snorwig's shell color was argued by painters.",
]
SETTINGS = RerankFinetuneSettings(
    epochs=12,
    questions_per_step=3,
    group=4,
    negatives_from=5,
    skip_negatives=0,  # the distractors near the top are what it must learn to put below
    learning_rate=3e-4,
    depths=(4, 8),
    weights=(0.5, 1.0),
)


def test_the_mix_goes_from_the_index_order_to_the_rerankers():
    first = np.array([0.9, 0.8, 0.7])
    reranker = np.array([-2.0, 5.0, 1.0])
    assert rerank_order(first, reranker, 0.0).tolist() == [0, 1, 2]
    assert rerank_order(first, reranker, 1.0).tolist() == [1, 2, 0]
    # Standardised: the scale of either score does not matter, only the weight does.
    assert np.allclose(rerank_mix(first, reranker, 0.5), rerank_mix(first * 10, reranker * 3 + 7, 0.5))
    # A re-ranker that scores every candidate the same leaves the index's order.
    assert rerank_order(first, np.ones(3), 0.9).tolist() == [0, 1, 2]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    output = tmp_path_factory.mktemp("reranker") / "reranker"
    base = Path(settings.EDUAI_ENCODER_MODEL)
    return reranker_finetune(
        PAIRS, base=base, encoder=base, output=output, corpus=CORPUS, tune_pairs=TUNE, settings=SETTINGS
    )


def test_training_writes_a_cross_encoder_with_its_tuned_depth_and_weight(trained):
    assert (trained.directory / "model.safetensors").is_file()
    config = rerank_config_read(trained.directory)
    assert config["depth"] in SETTINGS.depths
    assert config["weight"] in SETTINGS.weights
    assert (config["depth"], config["weight"]) == (trained.depth, trained.weight)
    assert config["tuned_on"] == 1
    assert config["fine_tuned"]["pairs"] == len(PAIRS)
    assert config["fine_tuned"]["passages"] == len(PAIRS) + len(CORPUS)
    assert trained.losses[-1] < trained.losses[0]


def test_training_refuses_too_little_data(tmp_path):
    base = Path(settings.EDUAI_ENCODER_MODEL)
    with pytest.raises(ValueError, match="at least two"):
        reranker_finetune(PAIRS[:1], base=base, encoder=base, output=tmp_path / "x", settings=SETTINGS)
    with pytest.raises(ValueError, match="at least 4 distinct passages"):
        reranker_finetune(PAIRS[:3], base=base, encoder=base, output=tmp_path / "x", settings=SETTINGS)
    assert not (tmp_path / "x").exists()


def _course_index(scope=""):
    texts = [passage for _, passage in PAIRS] + CORPUS
    return CourseIndex.build(range(100, 100 + len(texts)), texts, embed_passages(texts, scope=scope))


@pytest.mark.django_db
def test_a_course_with_a_reranker_retrieves_through_it(trained):
    scope = "course:515151"
    assert reranker_settings(scope=scope) is None
    index = _course_index()
    questions = [question for question, _ in PAIRS]
    vectors = embed_queries(questions)
    without = [
        _retrieve(index, q, v, scope=scope, preferred=frozenset())
        for q, v in zip(questions, vectors, strict=True)
    ]

    version_id = reranker_register(directory=trained.directory, scope=scope)
    assert ModelVersion.objects.get(pk=version_id).task == ModelVersion.Task.RERANKING
    reranking = reranker_settings(scope=scope)
    assert reranking is not None
    assert reranking.model_id == version_id
    assert reranking.scope == scope
    assert reranker_settings(scope="course:1") is None  # other courses do not re-rank
    with_reranker = [
        _retrieve(index, q, v, scope=scope, preferred=frozenset())
        for q, v in zip(questions, vectors, strict=True)
    ]
    assert all(len(hits) == RETRIEVAL_K for hits in with_reranker)
    own = [index.text(hits[0].id) for hits in with_reranker]
    # The re-ranker learned the made-up pairs: it puts each question's own passage first.
    assert sum(text == passage for text, (_, passage) in zip(own, PAIRS, strict=True)) >= 5
    assert (
        sum(index.text(hits[0].id) == passage for hits, (_, passage) in zip(without, PAIRS, strict=True)) < 5
    )
    scores = runtime.rerank(PAIRS[0][0], [PAIRS[0][1], CORPUS[0]], scope=scope)
    assert scores.shape == (2,)
    assert scores[0] > scores[1]


@pytest.mark.django_db
def test_a_reranker_that_cannot_load_leaves_the_index_order(trained, tmp_path, caplog):
    scope = "course:525252"
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in trained.directory.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    reranker_register(directory=broken, scope=scope)
    (broken / "model.safetensors").write_bytes(b"not weights")  # the checksum no longer matches
    index = _course_index()
    question = PAIRS[0][0]
    vector = embed_queries([question])[0]
    with caplog.at_level(logging.WARNING, logger="tutoring.services"):
        hits = _retrieve(index, question, vector, scope=scope, preferred=frozenset())
    assert [hit.id for hit in hits] == [hit.id for hit in index.search(question, vector, k=RETRIEVAL_K)]
    assert "Re-ranking for course:525252 skipped" in caplog.text


@pytest.mark.django_db
def test_kb_eval_scores_the_reranked_hybrid(trained, tmp_path):
    materials = tmp_path / "facts.txt"
    materials.write_text("\n".join([p for _, p in PAIRS] + CORPUS) + "\n", encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        "".join(
            f'{{"id": "{i}", "question": "{q}", "gold_passages": ["{p}"]}}\n'
            for i, (q, p) in enumerate(PAIRS)
        ),
        encoding="utf-8",
    )
    out = StringIO()
    arguments = ["--materials", str(materials), "--questions", str(questions), "--one-document-per-line"]
    call_command("kb_eval", *arguments, "--reranker", str(trained.directory), stdout=out)
    output = out.getvalue()
    name = f"hybrid + re-ranking (top {trained.depth}, weight {trained.weight:g})"
    row = re.search(rf"^\| {re.escape(name)} \| ([\d.]+) \| ([\d.]+) \|", output, re.M)
    hybrid = re.search(r"^\| hybrid \| ([\d.]+) \|", output, re.M)
    assert row, output
    assert hybrid, output
    assert float(row.group(1)) > float(hybrid.group(1))  # recall@1
    with pytest.raises(CommandError, match="not a transformers model directory"):
        call_command("kb_eval", *arguments, "--reranker", str(tmp_path), stdout=StringIO())
