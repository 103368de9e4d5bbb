"""A real OpenAI-compatible HTTP server on loopback that serves the bundled model (as vLLM or
llama-server would serve theirs), for the tests of the OpenAI-compatible backend."""

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest, TextGenerator


class ChatCompletionsHandler(BaseHTTPRequestHandler):
    model: TextGenerator  # the transformers Generator, set by the fixture

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        if self.path == "/v1/broken/chat/completions":  # a server in trouble
            self.send_error(500, "internal error")
            return
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


@contextlib.contextmanager
def model_server(port: int = 0) -> Iterator[str]:
    """Serve the bundled generator as model "smollm2" on ``port`` (0: a free one); yields the base URL."""
    ChatCompletionsHandler.model = runtime.generator()
    server = ThreadingHTTPServer(("127.0.0.1", port), ChatCompletionsHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1"
    finally:
        server.shutdown()
        server.server_close()
