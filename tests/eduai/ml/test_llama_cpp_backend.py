"""The llama.cpp backend (optional extra) on the bundled GGUF file. Without the extra, the runtime
must say exactly what to install; with it, the answer must come from the grounding passage."""

import importlib.util
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest
from eduai.ml.models import ModelVersion
from eduai.ml.services import bundled_model_ensure, model_version_promote, model_version_register

pytestmark = pytest.mark.django_db

INSTALLED = importlib.util.find_spec("llama_cpp") is not None
QUESTION = GenerationRequest(
    messages=[
        {"role": "system", "content": "Passage: Chlorophyll absorbs red and blue light in the chloroplasts."},
        {"role": "user", "content": "Which pigment absorbs light?"},
    ],
    max_new_tokens=24,
)


def _register_gguf(scope: str) -> ModelVersion:
    version = model_version_register(
        task=ModelVersion.Task.GENERATION,
        scope=scope,
        name="smollm2-gguf",
        base_model="SmolLM2-135M-Instruct.Q4_1.gguf",
        weights_path=Path(settings.EDUAI_GENERATOR_MODEL),
        backend=ModelVersion.Backend.LLAMA_CPP,
    )
    return model_version_promote(version=version)


@pytest.mark.skipif(INSTALLED, reason="checks the message shown when the optional extra is missing")
def test_without_the_extra_the_runtime_names_what_to_install():
    _register_gguf("course:llama-missing")
    with pytest.raises(runtime.ModelUnavailableError, match=r"requirements/llamacpp\.txt"):
        runtime.generator(scope="course:llama-missing")


@pytest.mark.skipif(not INSTALLED, reason="llama-cpp-python (requirements/llamacpp.txt) is not installed")
def test_llama_cpp_answers_from_the_passage_and_streams():
    _register_gguf("course:llama")
    answer = runtime.generate(QUESTION, scope="course:llama", timeout=120)
    assert "chlorophyll" in answer.text.lower()
    pieces = list(runtime.generator(scope="course:llama").stream(QUESTION))
    assert "".join(pieces).strip() == answer.text


def test_the_bundled_generator_can_be_served_by_llama_cpp():
    with override_settings(EDUAI_GENERATOR_BACKEND="llama_cpp"):
        version = bundled_model_ensure(task=ModelVersion.Task.GENERATION)
    assert version.backend == ModelVersion.Backend.LLAMA_CPP
    assert version.weights_path == settings.EDUAI_GENERATOR_MODEL
