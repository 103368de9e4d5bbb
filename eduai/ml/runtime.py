"""The model runtime: each production model loaded once per worker process, cached by version.

Every AI feature asks this module for its model. When the production version's files are
missing or corrupt, it logs the error and keeps serving the version it served before.
"""

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import torch

from .devices import select_device
from .encoder import Encoder
from .generator import GenerationRequest, Generator
from .models import ModelVersion
from .selectors import model_version_production
from .services import bundled_model_ensure
from .storage import ModelFileError, verify_checksum

logger = logging.getLogger(__name__)

LoadedModel = TypeVar("LoadedModel", Encoder, Generator)


class ModelUnavailableError(Exception):
    """No usable model version for a task and scope."""


_lock = threading.Lock()
_loaded: dict[int, Encoder | Generator] = {}
_serving: dict[tuple[str, str], int] = {}
_broken: dict[int, str] = {}


def encoder(scope: str = "") -> Encoder:
    return _serve(ModelVersion.Task.EMBEDDING, scope, Encoder)


def generator(scope: str = "") -> Generator:
    return _serve(ModelVersion.Task.GENERATION, scope, Generator)


def _serve(task: str, scope: str, loader: Callable[[Path, torch.device], LoadedModel]) -> LoadedModel:
    version = model_version_production(task=task, scope=scope)
    if version is None and scope == "":
        # Site-wide models always exist: the configured (by default bundled) one is registered.
        version = bundled_model_ensure(task=task)
    if version is None:
        raise ModelUnavailableError(
            f"No production {task} model for scope {scope!r}: run manage.py prepare_models."
        )
    with _lock:
        model = _loaded.get(version.pk) or _load(version, loader)
    return model  # type: ignore[return-value]


def _load(version: ModelVersion, loader: Callable[[Path, torch.device], LoadedModel]) -> Encoder | Generator:
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
    _loaded[version.pk] = model
    _serving[key] = version.pk
    logger.info("Loaded model version %s (%s) on %s", version.pk, version.name, select_device())
    return model


def loaded_version_ids() -> dict[tuple[str, str], int]:
    """Which version this process serves for each task and scope (for health and tests)."""
    with _lock:
        return dict(_serving)


def warm_up() -> None:
    """Load the site-wide models and run each once, so the first request is not slow."""
    encoder().embed(["warm-up"])
    generator().generate([GenerationRequest(messages=[{"role": "user", "content": "Hi"}], max_new_tokens=1)])
