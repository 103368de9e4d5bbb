"""The OpenAI-compatible backend against a real HTTP server on loopback that serves the bundled
model (as vLLM or llama-server would serve theirs)."""

import pytest
import requests

from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest
from eduai.ml.models import ModelVersion
from eduai.ml.openai_compatible import ModelServerUnavailableError, OpenAICompatibleGenerator
from eduai.ml.services import model_version_promote
from tests.faults import free_port

from .serving import model_server

QUESTION = GenerationRequest(
    messages=[
        {"role": "system", "content": "Passage: The mitochondria is the powerhouse of the cell."},
        {"role": "user", "content": "What is the powerhouse of the cell?"},
    ],
    max_new_tokens=24,
)


@pytest.fixture
def serving_cluster(db):
    with model_server() as url:
        yield url


def test_generate_and_stream_over_http(serving_cluster):
    backend = OpenAICompatibleGenerator(serving_cluster, "smollm2")
    result = backend.generate([QUESTION])[0]
    assert "mitochondria" in result.text.lower()
    assert result.completion_tokens > 0
    pieces = list(backend.stream(QUESTION))
    assert len(pieces) > 3
    assert "".join(pieces).strip() == result.text


def test_the_runtime_serves_a_registered_server(serving_cluster):
    version = ModelVersion.objects.create(
        task=ModelVersion.Task.GENERATION,
        scope="course:7",
        name="smollm2",
        base_model="SmolLM2-135M-Instruct",
        backend=ModelVersion.Backend.OPENAI_COMPATIBLE,
        weights_path=serving_cluster,
    )
    model_version_promote(version=version)
    answer = runtime.generate(QUESTION, scope="course:7", timeout=120)
    assert "mitochondria" in answer.text.lower()


def test_a_server_error_is_raised_clearly(serving_cluster):
    backend = OpenAICompatibleGenerator(serving_cluster, "no-such-model")
    with pytest.raises(requests.HTTPError, match="400"):
        backend.generate([QUESTION])


def test_an_unreachable_or_failing_server_is_a_transient_error(serving_cluster):
    down = OpenAICompatibleGenerator(f"http://127.0.0.1:{free_port()}/v1", "smollm2")
    with pytest.raises(ModelServerUnavailableError, match="cannot be reached"):
        down.generate([QUESTION])
    with pytest.raises(ModelServerUnavailableError, match="cannot be reached"):
        list(down.stream(QUESTION))
    assert issubclass(ModelServerUnavailableError, ConnectionError)  # tasks retry it
    # A 5xx from the server is transient too; a 4xx (our configuration) is not.
    broken = OpenAICompatibleGenerator(serving_cluster.replace("/v1", "/v1/broken"), "smollm2")
    with pytest.raises(ModelServerUnavailableError, match="answered 500"):
        broken.generate([QUESTION])
