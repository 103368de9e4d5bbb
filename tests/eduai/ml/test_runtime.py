"""The bundled models, loaded offline through the runtime, give real outputs."""

import logging
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from django.db import connection
from django.test import override_settings

from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest, Generator
from eduai.ml.models import ModelVersion
from eduai.ml.services import model_version_promote, model_version_register

pytestmark = pytest.mark.django_db

PASSAGE = "Chlorophyll, the green pigment in chloroplasts, absorbs red and blue light."


def _grounded_question() -> GenerationRequest:
    return GenerationRequest(
        messages=[
            {"role": "system", "content": f"Answer from this passage only. Passage: {PASSAGE}"},
            {"role": "user", "content": "Which pigment absorbs light in plants?"},
        ],
        max_new_tokens=40,
    )


def test_encoder_ranks_a_paraphrase_above_an_unrelated_sentence():
    vectors = runtime.encoder().embed(
        [
            "How do plants turn sunlight into food?",
            "Plants use light energy to make sugar from carbon dioxide and water.",
            "The stock market fell sharply on Tuesday.",
        ]
    )
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    paraphrase, unrelated = vectors[1] @ vectors[0], vectors[2] @ vectors[0]
    assert paraphrase > unrelated + 0.2


def test_encoder_batches_give_the_same_vectors_as_one_at_a_time():
    texts = ["short", "a much longer sentence about the Calvin cycle in the stroma", "medium length text"]
    batched = runtime.encoder().embed(texts, batch_size=3)
    single = np.vstack([runtime.encoder().embed([text]) for text in texts])
    # Padding must not change a text's vector (beyond bfloat16 rounding on CPUs that use it).
    assert np.all(np.sum(batched * single, axis=1) > 0.999)


def test_generator_answers_from_its_grounding_passage():
    result = runtime.generator().generate([_grounded_question()])[0]
    assert "chlorophyll" in result.text.lower()
    assert 0 < result.completion_tokens <= 40
    assert result.prompt_tokens > 20


def test_streaming_yields_the_same_answer_in_pieces():
    pieces = list(runtime.generator().stream(_grounded_question()))
    assert len(pieces) > 3
    assert "".join(pieces).strip() == runtime.generator().generate([_grounded_question()])[0].text


def test_batched_generation_matches_single_requests_exactly_in_float32():
    # bfloat16 rounds differently with padding, so exactness is checked in float32: padding and
    # attention masks must not change an answer.
    runtime.generator()  # registers the bundled version
    directory = Path(ModelVersion.objects.get(task="generation", status="production").weights_path)
    with override_settings(EDUAI_CPU_DTYPE="float32"):
        generator = Generator(directory, torch.device("cpu"))
    other = GenerationRequest(
        messages=[{"role": "user", "content": "Name a primary colour."}], max_new_tokens=12
    )
    batched = generator.generate([_grounded_question(), other])
    assert batched[0].text == generator.generate([_grounded_question()])[0].text
    assert batched[1].text == generator.generate([other])[0].text
    assert batched[1].completion_tokens <= 12


def test_a_corrupt_new_version_keeps_the_previous_one_serving(tmp_path, caplog):
    serving = runtime.encoder()
    broken = tmp_path / "broken-encoder"
    broken.mkdir()
    (broken / "model.safetensors").write_bytes(b"original")
    version = model_version_register(
        task=ModelVersion.Task.EMBEDDING, name="broken", base_model="minilm", weights_path=broken
    )
    (broken / "model.safetensors").write_bytes(b"flipped bits")
    model_version_promote(version=version)
    with caplog.at_level(logging.ERROR, logger="eduai.ml.runtime"):
        assert runtime.encoder() is serving
    assert "corrupt" in caplog.text


def test_a_version_that_failed_to_load_is_retried_after_the_reset_time(tmp_path, monkeypatch):
    version = model_version_register(
        task=ModelVersion.Task.GENERATION,
        scope="assignment:8",
        name="x",
        base_model="y",
        weights_path=tmp_path,
    )
    model_version_promote(version=version)
    attempts = []

    def instantiate(loaded_version):
        attempts.append(loaded_version.pk)
        raise OSError("weights are on a disk that is not mounted")

    monkeypatch.setattr(runtime, "_instantiate", instantiate)
    with override_settings(EDUAI_BREAKER_RESET_SECONDS=3600):
        for _ in range(2):
            with pytest.raises(runtime.ModelUnavailableError, match="not mounted"):
                runtime.generator(scope="assignment:8")
    assert attempts == [version.pk]  # the second call did not touch the disk again
    with (
        override_settings(EDUAI_BREAKER_RESET_SECONDS=0),
        pytest.raises(runtime.ModelUnavailableError, match="not mounted"),
    ):
        runtime.generator(scope="assignment:8")
    assert attempts == [version.pk, version.pk]  # tried again once the reset time had passed


def test_a_scope_without_any_loadable_version_is_a_clear_error(tmp_path):
    version = model_version_register(
        task=ModelVersion.Task.GENERATION,
        scope="assignment:9",
        name="x",
        base_model="y",
        weights_path=tmp_path,
    )
    version.weights_path = str(tmp_path / "deleted")
    version.save()
    model_version_promote(version=version)
    with pytest.raises(runtime.ModelUnavailableError, match="does not exist"):
        runtime.generator(scope="assignment:9")
    with pytest.raises(runtime.ModelUnavailableError, match="No production"):
        runtime.generator(scope="assignment:10")


# Committed rows: the calling threads have database connections of their own.
@pytest.mark.django_db(transaction=True)
def test_concurrent_generate_calls_each_get_their_own_answer():
    codes = ["apple", "river", "candle", "violet"]
    answers: dict[str, str] = {}

    def ask(code: str) -> None:
        question = GenerationRequest(
            messages=[
                {"role": "system", "content": f"The secret code word is {code}."},
                {"role": "user", "content": "What is the secret code word?"},
            ],
            max_new_tokens=16,
        )
        try:
            answers[code] = runtime.generate(question, timeout=120).text.lower()
        finally:
            connection.close()

    threads = [threading.Thread(target=ask, args=(code,)) for code in codes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A 135M model does not always repeat the word, but no caller may get another's answer.
    assert sum(code in answers[code] for code in codes) >= 3, answers
    for code in codes:
        assert not any(other in answers[code] for other in codes if other != code), answers


def test_concurrent_embed_calls_return_their_own_vectors():
    single = runtime.embed(["alpha particle", "beta decay"])
    assert single.shape == (2, 384)
    assert runtime.embed(["beta decay"])[0] @ single[1] > 0.999
