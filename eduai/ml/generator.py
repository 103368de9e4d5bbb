"""Text generation with a transformers causal language model (SmolLM2-135M-Instruct by default)."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from threading import Thread
from typing import Any, Protocol

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

from .devices import dtype_for, empty_accelerator_cache

Message = dict[str, str]


@dataclass(frozen=True)
class GenerationRequest:
    messages: Sequence[Message]
    max_new_tokens: int = 256


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_tokens: int
    completion_tokens: int


class TextGenerator(Protocol):
    """What every generation backend offers (transformers here, openai_compatible.py over HTTP)."""

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]: ...

    def stream(self, request: GenerationRequest) -> Iterator[str]: ...

    def count_tokens(self, text: str) -> int: ...


class Generator:
    """Greedy chat completion with transformers; a list of requests is decoded as one batch."""

    def __init__(self, directory: Path, device: torch.device) -> None:
        self.device = device
        # Left padding: in a batch every prompt must end where generation starts.
        self.tokenizer = AutoTokenizer.from_pretrained(directory, padding_side="left")
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(directory, dtype=dtype_for(device))
        self.model = model.to(device).eval()  # type: ignore[arg-type]  # transformers' stub of .to

    def _encode(self, requests: Sequence[GenerationRequest]) -> Any:
        prompts = [
            self.tokenizer.apply_chat_template(
                list(request.messages), add_generation_prompt=True, tokenize=False
            )
            for request in requests
        ]
        return self.tokenizer(prompts, padding=True, return_tensors="pt", add_special_tokens=False).to(
            self.device
        )

    def _generate_kwargs(self, max_new_tokens: int) -> dict[str, Any]:
        return {
            "max_new_tokens": max_new_tokens,
            "do_sample": False,
            "pad_token_id": self.tokenizer.pad_token_id,
            "eos_token_id": self.tokenizer.eos_token_id,
        }

    def generate(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        if not requests:
            return []
        try:
            return self._generate_batch(requests)
        except torch.cuda.OutOfMemoryError:
            empty_accelerator_cache(self.device)
            middle = max(1, len(requests) // 2)
            return [
                result
                for half in (requests[:middle], requests[middle:])
                for result in self._generate_batch(half)
            ]

    @torch.inference_mode()
    def _generate_batch(self, requests: Sequence[GenerationRequest]) -> list[GenerationResult]:
        encoded = self._encode(requests)
        max_new_tokens = max(request.max_new_tokens for request in requests)
        output = self.model.generate(**encoded, **self._generate_kwargs(max_new_tokens))
        prompt_length = encoded["input_ids"].shape[1]
        results = []
        for row, request in enumerate(requests):
            completion = output[row, prompt_length:][: request.max_new_tokens]
            completion = completion[completion != self.tokenizer.pad_token_id]
            results.append(
                GenerationResult(
                    text=str(self.tokenizer.decode(completion, skip_special_tokens=True)).strip(),
                    prompt_tokens=int(encoded["attention_mask"][row].sum()),
                    completion_tokens=int(completion.shape[0]),
                )
            )
        return results

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Yield pieces of the answer as they are decoded."""
        encoded = self._encode([request])
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        kwargs = {**encoded, **self._generate_kwargs(request.max_new_tokens), "streamer": streamer}
        errors: list[BaseException] = []
        worker = Thread(target=self._generate_into, args=(streamer, kwargs, errors), daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()
        if errors:
            raise errors[0]

    @torch.inference_mode()
    def _generate_into(
        self, streamer: TextIteratorStreamer, kwargs: dict[str, Any], errors: list[BaseException]
    ) -> None:
        try:
            self.model.generate(**kwargs)
        except BaseException as error:  # noqa: BLE001 - handed to the reader, which re-raises it
            # The streamer must still end, or the reader would wait forever.
            errors.append(error)
            streamer.end()  # type: ignore[no-untyped-call]
