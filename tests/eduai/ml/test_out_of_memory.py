"""A CUDA out-of-memory error is retried once, in two halves, after the cache is emptied."""

import numpy as np
import pytest
import torch

from eduai.ml import encoder as encoder_module
from eduai.ml import generator as generator_module
from eduai.ml.encoder import Encoder
from eduai.ml.generator import GenerationRequest, GenerationResult, Generator


def _bare(cls, monkeypatch):
    instance = cls.__new__(cls)  # no weights needed: only the retry logic is under test
    instance.device = torch.device("cuda")
    emptied = []
    monkeypatch.setattr(encoder_module, "empty_accelerator_cache", lambda device: emptied.append(device))
    monkeypatch.setattr(generator_module, "empty_accelerator_cache", lambda device: emptied.append(device))
    return instance, emptied


def test_encoder_halves_the_batch_after_an_out_of_memory_error(monkeypatch):
    encoder, emptied = _bare(Encoder, monkeypatch)
    sizes = []

    def embed_batch(batch, max_length):
        sizes.append(len(batch))
        if len(batch) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return np.ones((len(batch), 3), dtype=np.float32)

    encoder._embed_batch = embed_batch
    vectors = encoder._embed_batch_with_oom_retry(["a", "b", "c", "d"], 16)
    assert vectors.shape == (4, 3)
    assert sizes == [4, 2, 2]
    assert emptied == [torch.device("cuda")]


def test_encoder_gives_up_after_one_retry(monkeypatch):
    encoder, _ = _bare(Encoder, monkeypatch)

    def always_out_of_memory(batch, max_length):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    encoder._embed_batch = always_out_of_memory
    with pytest.raises(torch.cuda.OutOfMemoryError):
        encoder._embed_batch_with_oom_retry(["a", "b"], 16)


def test_generator_halves_the_batch_after_an_out_of_memory_error(monkeypatch):
    generator, emptied = _bare(Generator, monkeypatch)
    sizes = []

    def generate_batch(requests):
        sizes.append(len(requests))
        if len(requests) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return [GenerationResult(text="ok", prompt_tokens=1, completion_tokens=1) for _ in requests]

    generator._generate_batch = generate_batch
    requests = [GenerationRequest(messages=[{"role": "user", "content": str(n)}]) for n in range(4)]
    assert len(generator.generate(requests)) == 4
    assert sizes == [4, 2, 2]
    assert emptied == [torch.device("cuda")]
