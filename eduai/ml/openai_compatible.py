"""Generation on an OpenAI-compatible server (vLLM, Ollama, llama-server), for schools that run
their models on a serving cluster. The server batches concurrent requests itself.

A server that cannot be reached, times out or answers 5xx (down, restarting, overloaded) raises
``ModelServerUnavailableError``, a ``ConnectionError``: tasks retry it with backoff and the
model version's circuit breaker counts it. A 4xx (a wrong model name, a bad key) is our
configuration's fault and raises ``requests.HTTPError`` as it is.
"""

import json
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import requests
from django.conf import settings

from .generator import GenerationRequest, GenerationResult

TIMEOUT_SECONDS = 300


class ModelServerUnavailableError(ConnectionError):
    """The model server cannot serve now; worth retrying later."""


@contextmanager
def _server_errors(base_url: str) -> Iterator[None]:
    try:
        yield
    except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as error:
        raise ModelServerUnavailableError(
            f"The model server at {base_url} cannot be reached: {error}"
        ) from error
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else 0
        if status >= 500:
            raise ModelServerUnavailableError(f"The model server at {base_url} answered {status}.") from error
        raise


# Servers count tokens with their own tokenizer; for the stream's closing event we estimate.
CHARACTERS_PER_TOKEN = 4


class OpenAICompatibleGenerator:
    def __init__(self, base_url: str, model: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self._session = requests.Session()
        if settings.EDUAI_OPENAI_API_KEY:
            self._session.headers["Authorization"] = f"Bearer {settings.EDUAI_OPENAI_API_KEY}"

    def _body(self, request: GenerationRequest, *, stream: bool) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": list(request.messages),
            "max_tokens": request.max_new_tokens,
            "temperature": 0,
            "stream": stream,
        }

    def _complete(self, request: GenerationRequest) -> GenerationResult:
        with _server_errors(self.base_url):
            response = self._session.post(
                f"{self.base_url}/chat/completions",
                json=self._body(request, stream=False),
                timeout=TIMEOUT_SECONDS,
            )
            response.raise_for_status()
            body = response.json()
        usage = body.get("usage") or {}
        return GenerationResult(
            text=str(body["choices"][0]["message"]["content"]).strip(),
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )

    def generate(self, batch: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if len(batch) <= 1:
            return [self._complete(request) for request in batch]
        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            return list(pool.map(self._complete, batch))

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        with (
            _server_errors(self.base_url),
            self._session.post(
                f"{self.base_url}/chat/completions",
                json=self._body(request, stream=True),
                timeout=TIMEOUT_SECONDS,
                stream=True,
            ) as response,
        ):
            response.raise_for_status()
            for line in response.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                payload = line.removeprefix("data:").strip()
                if payload == "[DONE]":
                    return
                choices = json.loads(payload).get("choices") or [{}]
                piece = choices[0].get("delta", {}).get("content")
                if piece:
                    yield piece

    def count_tokens(self, text: str) -> int:
        return max(1, round(len(text) / CHARACTERS_PER_TOKEN)) if text else 0
