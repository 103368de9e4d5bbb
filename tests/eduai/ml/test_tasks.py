"""Inference through the real broker and a real worker on the inference queue."""

import numpy as np
import pytest

from eduai.celery import app
from eduai.ml.tasks import embed_texts, generate_text

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_embedding_runs_on_the_inference_queue(celery_worker_process):
    result = embed_texts.delay(["photosynthesis in plants", "how plants make food", "football results"])
    assert app.amqp.router.route({}, embed_texts.name)["queue"].name == "inference"
    vectors = np.array(result.get(timeout=120))
    assert vectors.shape == (3, 384)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_generation_runs_on_the_worker(celery_worker_process):
    messages = [
        {"role": "system", "content": "Passage: The mitochondria is the powerhouse of the cell."},
        {"role": "user", "content": "What is the powerhouse of the cell?"},
    ]
    answer = generate_text.delay(messages, 30).get(timeout=180)
    assert "mitochondria" in answer["text"].lower()
    assert answer["completion_tokens"] <= 30


def test_malformed_messages_fail_with_a_clear_error(celery_worker_process):
    result = generate_text.delay([{"role": "hacker", "content": "hi"}], 10)
    with pytest.raises(ValueError, match="role must be one of"):
        result.get(timeout=60)
