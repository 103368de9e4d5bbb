"""The model runtime: each production model loaded once per worker process, cached by version.

Every AI feature asks this module for its model. When the production version's files are
missing or corrupt, it logs the error and keeps serving the version it served before. Requests
from concurrent threads are grouped into batches (``embed`` and ``generate``).
"""

import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from django.conf import settings

from .batching import MicroBatcher
from .devices import select_device
from .encoder import Encoder
from .generator import GenerationRequest, GenerationResult, Generator
from .models import ModelVersion
from .selectors import model_version_production
from .services import bundled_model_ensure
from .storage import ModelFileError, verify_checksum

logger = logging.getLogger(__name__)

LoadedModel = TypeVar("LoadedModel", Encoder, Generator)


class ModelUnavailableError(Exception):
    """No usable model version for a task and scope."""


@dataclass
class _Loaded:
    model: Encoder | Generator
    batcher: MicroBatcher[Any, Any] = field(repr=False)


_lock = threading.Lock()
_loaded: dict[int, _Loaded] = {}
_serving: dict[tuple[str, str], int] = {}
_broken: dict[int, str] = {}


def encoder(scope: str = "") -> Encoder:
    model = _serve(ModelVersion.Task.EMBEDDING, scope, Encoder).model
    return model  # type: ignore[return-value]


def generator(scope: str = "") -> Generator:
    model = _serve(ModelVersion.Task.GENERATION, scope, Generator).model
    return model  # type: ignore[return-value]


def embed(texts: Sequence[str], *, scope: str = "", timeout: float | None = None) -> np.ndarray:
    """Embeddings for ``texts``, batched with other threads' concurrent calls."""
    batcher = _serve(ModelVersion.Task.EMBEDDING, scope, Encoder).batcher
    result: np.ndarray = batcher.submit(list(texts)).result(timeout)
    return result


def generate(
    request: GenerationRequest, *, scope: str = "", timeout: float | None = None
) -> GenerationResult:
    """One completion, decoded in a batch with other threads' concurrent requests."""
    batcher = _serve(ModelVersion.Task.GENERATION, scope, Generator).batcher
    result: GenerationResult = batcher.submit(request).result(timeout)
    return result


def _serve(task: str, scope: str, loader: Callable[[Path, torch.device], LoadedModel]) -> _Loaded:
    version = model_version_production(task=task, scope=scope)
    if version is None and scope == "":
        # Site-wide models always exist: the configured (by default bundled) one is registered.
        version = bundled_model_ensure(task=task)
    if version is None:
        raise ModelUnavailableError(f"No production {task} model for scope {scope!r}.")
    with _lock:
        return _loaded.get(version.pk) or _load(version, loader)


def _load(version: ModelVersion, loader: Callable[[Path, torch.device], LoadedModel]) -> _Loaded:
    key = (version.task, version.scope)
    try:
        if version.pk in _broken:
            raise ModelUnavailableError(_broken[version.pk])
        path = Path(version.weights_path)
        verify_checksum(path, version.sha256)
        model = loader(path, select_device())
    except (ModelFileError, ModelUnavailableError, OSError, ValueError) as error:
        _broken[version.pk] = str(error)
        previous = _serving.get(key)
        if previous is None:
            raise ModelUnavailableError(
                f"Model version {version.pk} ({version.name}) cannot load: {error}"
            ) from error
        logger.error(
            "Model version %s cannot load (%s); still serving version %s", version.pk, error, previous
        )
        return _loaded[previous]
    previous = _serving.get(key)
    if previous is not None:
        _loaded.pop(previous, None)  # free the memory of the version this one replaces
    loaded = _Loaded(model=model, batcher=_batcher_for(model, name=f"{version.task}-{version.pk}"))
    _loaded[version.pk] = loaded
    _serving[key] = version.pk
    logger.info("Loaded model version %s (%s) on %s", version.pk, version.name, select_device())
    return loaded


def _batcher_for(model: Encoder | Generator, *, name: str) -> MicroBatcher[Any, Any]:
    wait = settings.EDUAI_BATCH_MAX_WAIT_MS / 1000
    if isinstance(model, Generator):
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
