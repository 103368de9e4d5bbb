"""The OpenAI-compatible backend against a real HTTP server on loopback that serves the bundled
model (as vLLM or llama-server would serve theirs)."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest, TextGenerator
from eduai.ml.models import ModelVersion
from eduai.ml.openai_compatible import OpenAICompatibleGenerator
from eduai.ml.services import model_version_promote

QUESTION = GenerationRequest(
    messages=[
        {"role": "system", "content": "Passage: The mitochondria is the powerhouse of the cell."},
        {"role": "user", "content": "What is the powerhouse of the cell?"},
    ],
    max_new_tokens=24,
)


class ChatCompletionsHandler(BaseHTTPRequestHandler):
    model: TextGenerator  # the transformers Generator, set by the fixture

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self.send_error(404)
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["model"] != "smollm2":
            self.send_error(400, "unknown model")
            return
        request = GenerationRequest(messages=body["messages"], max_new_tokens=body["max_tokens"])
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for piece in self.model.stream(request):
                chunk = {"choices": [{"delta": {"content": piece}}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            return
        result = self.model.generate([request])[0]
        answer = {
            "choices": [{"message": {"role": "assistant", "content": result.text}}],
            "usage": {"prompt_tokens": result.prompt_tokens, "completion_tokens": result.completion_tokens},
        }
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def serving_cluster(db):
    ChatCompletionsHandler.model = runtime.generator()
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletionsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


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
