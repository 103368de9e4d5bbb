"""The model runtime: each production model loaded once per worker process, cached by version.

Every AI feature asks this module for its model. When the production version's files are
missing or corrupt, it logs the error and keeps serving the version it served before. Requests
from concurrent threads are grouped into batches (``embed`` and ``generate``).
"""

import itertools
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
from django.conf import settings

from .batching import MicroBatcher
from .circuit import CircuitBreaker, breaker_for
from .devices import select_device
from .encoder import Encoder
from .generator import GenerationRequest, GenerationResult, Generator, TextGenerator
from .llama_cpp_backend import LlamaCppGenerator
from .models import ModelVersion
from .openai_compatible import OpenAICompatibleGenerator
from .reranker import Reranker
from .selectors import model_version_production
from .services import bundled_model_ensure
from .storage import ModelFileError, verify_checksum

logger = logging.getLogger(__name__)


class ModelUnavailableError(Exception):
    """No usable model version for a task and scope."""


Model = Encoder | TextGenerator | Reranker


@dataclass
class _Loaded:
    model: Model
    batcher: MicroBatcher[Any, Any] = field(repr=False)
    breaker: CircuitBreaker = field(repr=False)


_lock = threading.Lock()
_loaded: dict[int, _Loaded] = {}
_serving: dict[tuple[str, str], int] = {}
# Versions whose weights failed to load: (error, when). Retried after EDUAI_BREAKER_RESET_SECONDS
# (a file put back or a server restarted is picked up without restarting the worker).
_broken: dict[int, tuple[str, float]] = {}


def encoder(scope: str = "") -> Encoder:
    return cast(Encoder, _serve(ModelVersion.Task.EMBEDDING, scope).model)


def generator(scope: str = "") -> TextGenerator:
    return cast(TextGenerator, _serve(ModelVersion.Task.GENERATION, scope).model)


def rerank(question: str, passages: Sequence[str], *, scope: str, timeout: float | None = None) -> np.ndarray:
    """The re-ranking model's score of each passage for the question (higher: more relevant).

    Only scopes that have a production re-ranking model (course or site-wide) re-rank: there is
    no bundled one, so without one this raises ``ModelUnavailableError``.
    """
    loaded = _serve(ModelVersion.Task.RERANKING, scope)
    request = (question, list(passages))
    result: np.ndarray = loaded.breaker.call(lambda: loaded.batcher.submit(request).result(timeout))
    return result


def embed(texts: Sequence[str], *, scope: str = "", timeout: float | None = None) -> np.ndarray:
    """Embeddings for ``texts``, batched with other threads' concurrent calls."""
    loaded = _serve(ModelVersion.Task.EMBEDDING, scope)
    result: np.ndarray = loaded.breaker.call(lambda: loaded.batcher.submit(list(texts)).result(timeout))
    return result


def generate(
    request: GenerationRequest, *, scope: str = "", timeout: float | None = None
) -> GenerationResult:
    """One completion, decoded in a batch with other threads' concurrent requests."""
    loaded = _serve(ModelVersion.Task.GENERATION, scope)
    result: GenerationResult = loaded.breaker.call(lambda: loaded.batcher.submit(request).result(timeout))
    return result


def stream(request: GenerationRequest, *, scope: str = "") -> Iterator[str]:
    """One completion's pieces as they are decoded (not batched: it has its own decode loop)."""
    loaded = _serve(ModelVersion.Task.GENERATION, scope)
    model = cast(TextGenerator, loaded.model)
    return loaded.breaker.stream(lambda: model.stream(request))


def _serve(task: str, scope: str) -> _Loaded:
    version = model_version_production(task=task, scope=scope)
    if version is None and scope == "" and task != ModelVersion.Task.RERANKING:
        # Site-wide models always exist: the configured (by default bundled) one is registered.
        version = bundled_model_ensure(task=task)
    if version is None:
        raise ModelUnavailableError(f"No production {task} model for scope {scope!r}.")
    with _lock:
        return _loaded.get(version.pk) or _load(version)


def _instantiate(version: ModelVersion) -> Model:
    if version.backend == ModelVersion.Backend.OPENAI_COMPATIBLE:
        if version.task != ModelVersion.Task.GENERATION:
            raise ModelUnavailableError("An OpenAI-compatible server can only serve generation.")
        return OpenAICompatibleGenerator(version.weights_path, version.name)
    path = Path(version.weights_path)
    verify_checksum(path, version.sha256)
    if version.backend == ModelVersion.Backend.LLAMA_CPP:
        return LlamaCppGenerator(path)
    if version.task == ModelVersion.Task.EMBEDDING:
        return Encoder(path, select_device())
    if version.task == ModelVersion.Task.RERANKING:
        return Reranker(path, select_device())
    return Generator(path, select_device())


def _load(version: ModelVersion) -> _Loaded:
    key = (version.task, version.scope)
    failed = _broken.get(version.pk)
    retry = failed is None or time.monotonic() - failed[1] >= settings.EDUAI_BREAKER_RESET_SECONDS
    try:
        if failed is not None and not retry:
            raise ModelUnavailableError(failed[0])
        model = _instantiate(version)
    except (ModelFileError, ModelUnavailableError, OSError, ValueError, ImportError) as error:
        if retry:
            _broken[version.pk] = (str(error), time.monotonic())
        previous = _serving.get(key)
        if previous is None:
            raise ModelUnavailableError(
                f"Model version {version.pk} ({version.name}) cannot load: {error}"
            ) from error
        logger.error(
            "Model version %s cannot load (%s); still serving version %s", version.pk, error, previous
        )
        return _loaded[previous]
    _broken.pop(version.pk, None)
    previous = _serving.get(key)
    if previous is not None:
        _loaded.pop(previous, None)  # free the memory of the version this one replaces
    loaded = _Loaded(
        model=model,
        batcher=_batcher_for(model, name=f"{version.task}-{version.pk}"),
        breaker=breaker_for(version.pk, f"{version.task} model {version.name!r} (version {version.pk})"),
    )
    _loaded[version.pk] = loaded
    _serving[key] = version.pk
    logger.info("Loaded model version %s (%s) on %s", version.pk, version.name, select_device())
    return loaded


def _batcher_for(model: Model, *, name: str) -> MicroBatcher[Any, Any]:
    wait = settings.EDUAI_BATCH_MAX_WAIT_MS / 1000
    if isinstance(model, Reranker):

        def score_requests(requests: Sequence[tuple[str, list[str]]]) -> list[np.ndarray]:
            # Each request is already a batch (one question's candidates); this thread runs them
            # one after another, so concurrent callers never share the model at once.
            return [model.score(question, passages) for question, passages in requests]

        return MicroBatcher(score_requests, max_batch=8, max_wait_seconds=0, name=name)
    if not isinstance(model, Encoder):
        return MicroBatcher(
            model.generate, max_batch=settings.EDUAI_GENERATION_MAX_BATCH, max_wait_seconds=wait, name=name
        )

    def embed_requests(requests: Sequence[list[str]]) -> list[np.ndarray]:
        vectors = model.embed([text for texts in requests for text in texts])
        bounds = np.cumsum([0, *(len(texts) for texts in requests)])
        return [vectors[start:end] for start, end in itertools.pairwise(bounds)]

    return MicroBatcher(
        embed_requests, max_batch=settings.EDUAI_ENCODER_MAX_BATCH, max_wait_seconds=wait, name=name
    )


def loaded_version_ids() -> dict[tuple[str, str], int]:
    """Which version this process serves for each task and scope (for health and tests)."""
    with _lock:
        return dict(_serving)


def warm_up() -> None:
    """Load the site-wide models and run each once, so the first request is not slow."""
    embed(["warm-up"])
    generate(GenerationRequest(messages=[{"role": "user", "content": "Hi"}], max_new_tokens=1))
