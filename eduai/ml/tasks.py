"""Runtime tasks on the inference queue; the apps' own tasks call the runtime the same way."""

from typing import Any

from celery import shared_task
from celery.signals import worker_process_init

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT

from . import runtime
from .generator import GenerationRequest
from .validation import validated_messages, validated_texts


@worker_process_init.connect
def _warm_up_worker_process(**_: Any) -> None:
    """Each worker process loads and runs its models once before it takes any task."""
    runtime.warm_up()


@shared_task(soft_time_limit=120, time_limit=150, **IDEMPOTENT, **RETRY_TRANSIENT)
def embed_texts(texts: list[str]) -> list[list[float]]:
    return runtime.encoder().embed(validated_texts(texts)).tolist()  # type: ignore[no-any-return]


@shared_task(soft_time_limit=300, time_limit=330, **IDEMPOTENT, **RETRY_TRANSIENT)
def generate_text(messages: list[dict[str, str]], max_new_tokens: int = 256) -> dict[str, Any]:
    request = GenerationRequest(messages=validated_messages(messages), max_new_tokens=max_new_tokens)
    result = runtime.generator().generate([request])[0]
    return {
        "text": result.text,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
    }
