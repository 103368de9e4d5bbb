"""Runtime tasks on the inference queue; the apps' own tasks call the runtime the same way.

Inference workers run Celery's threads pool (``--pool threads -c 8``): the threads share one
copy of each model, and the runtime batches their concurrent requests. The threads pool cannot
kill a task, so each task also bounds its wait for the model below its soft time limit.
"""

from typing import Any
from uuid import UUID

from celery import Celery, current_app, shared_task
from celery.concurrency.prefork import TaskPool as PreforkPool
from celery.signals import worker_process_init, worker_ready

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT, Queue

from . import runtime
from .generator import GenerationRequest
from .streams import event_store
from .validation import validated_messages, validated_texts


def _serves_inference(app: Celery) -> bool:
    return Queue.INFERENCE.value in app.amqp.queues.consume_from


@worker_process_init.connect
def _warm_up_pool_process(**_: Any) -> None:
    """Prefork: each child process loads and runs its models before it takes any task."""
    if _serves_inference(current_app):
        runtime.warm_up()


@worker_ready.connect
def _warm_up_threaded_worker(sender: Any, **_: Any) -> None:
    """Threads or solo pool: the worker process itself loads its models before it reports ready."""
    pool = sender.controller.pool_cls
    if _serves_inference(sender.app) and not (isinstance(pool, type) and issubclass(pool, PreforkPool)):
        runtime.warm_up()


@shared_task(soft_time_limit=120, time_limit=150, **IDEMPOTENT, **RETRY_TRANSIENT)
def embed_texts(texts: list[str]) -> list[list[float]]:
    vectors: list[list[float]] = runtime.embed(validated_texts(texts), timeout=110).tolist()
    return vectors


@shared_task(soft_time_limit=300, time_limit=330, **IDEMPOTENT, **RETRY_TRANSIENT)
def generate_text(messages: list[dict[str, str]], max_new_tokens: int = 256) -> dict[str, Any]:
    if not 1 <= max_new_tokens <= 2048:
        raise ValueError(f"max_new_tokens must be between 1 and 2048, not {max_new_tokens}.")
    request = GenerationRequest(messages=validated_messages(messages), max_new_tokens=max_new_tokens)
    result = runtime.generate(request, timeout=290)
    return {
        "text": result.text,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
    }


@shared_task(soft_time_limit=300, time_limit=330, **IDEMPOTENT, **RETRY_TRANSIENT)
def generate_stream(stream_id: str, messages: list[dict[str, str]], max_new_tokens: int = 256) -> int:
    """Publish an answer's pieces to a stream as they are decoded; returns how many were sent.

    Run again after a worker died, it starts the stream over: readers clear on ``start``.
    """
    stream = UUID(stream_id)
    store = event_store()
    request = GenerationRequest(messages=validated_messages(messages), max_new_tokens=max_new_tokens)
    store.publish(stream, "start", {})
    pieces: list[str] = []
    try:
        for piece in runtime.stream(request):
            store.publish(stream, "token", {"text": piece})
            pieces.append(piece)
    except Exception:
        store.publish(stream, "error", {"message": "The model could not finish this answer."})
        raise
    completion_tokens = runtime.generator().count_tokens("".join(pieces))
    store.publish(stream, "end", {"completion_tokens": completion_tokens})
    return len(pieces)
