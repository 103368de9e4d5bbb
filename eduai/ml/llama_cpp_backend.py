"""Generation with llama.cpp on a GGUF file (optional extra: requirements/llamacpp.txt).

On a CPU this decodes the bundled quantised SmolLM2 several times faster than transformers can.
llama-cpp-python serves one sequence at a time and its model object is not thread-safe, so
requests take turns under a lock; batching gains nothing here.
"""

import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .generator import GenerationRequest, GenerationResult

CONTEXT_TOKENS = 4096


class LlamaCppGenerator:
    def __init__(self, gguf_file: Path) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as error:
            raise ImportError(
                "The llama_cpp backend needs the optional extra: pip install -r requirements/llamacpp.txt"
            ) from error
        self._llama = Llama(
            model_path=str(gguf_file), n_ctx=CONTEXT_TOKENS, n_threads=os.cpu_count(), verbose=False
        )
        self._lock = threading.Lock()

    def _completion(self, request: GenerationRequest, *, stream: bool) -> Any:
        return self._llama.create_chat_completion(
            messages=list(request.messages),
            max_tokens=request.max_new_tokens,
            temperature=0,
            stream=stream,
        )

    def generate(self, batch: Sequence[GenerationRequest]) -> list[GenerationResult]:
        results = []
        for request in batch:
            with self._lock:
                body = self._completion(request, stream=False)
            results.append(
                GenerationResult(
                    text=str(body["choices"][0]["message"]["content"]).strip(),
                    prompt_tokens=int(body["usage"]["prompt_tokens"]),
                    completion_tokens=int(body["usage"]["completion_tokens"]),
                )
            )
        return results

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        with self._lock:
            for chunk in self._completion(request, stream=True):
                piece = chunk["choices"][0]["delta"].get("content")
                if piece:
                    yield piece

    def count_tokens(self, text: str) -> int:
        return len(self._llama.tokenize(text.encode(), add_bos=False))
