import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .bundled import prepared_model_directory
from .models import ModelVersion
from .selectors import model_version_production
from .storage import sha256_of

logger = logging.getLogger(__name__)


def model_version_register(
    *,
    task: str,
    name: str,
    base_model: str,
    weights_path: Path,
    scope: str = "",
    backend: str = ModelVersion.Backend.TRANSFORMERS,
    metrics: dict[str, Any] | None = None,
) -> ModelVersion:
    """Record a new candidate version; its checksum is taken now and verified on every load."""
    return ModelVersion.objects.create(
        task=task,
        scope=scope,
        name=name,
        base_model=base_model,
        backend=backend,
        weights_path=str(weights_path),
        sha256=sha256_of(weights_path),
        metrics=metrics or {},
    )


@transaction.atomic
def model_version_promote(*, version: ModelVersion) -> ModelVersion:
    """Make ``version`` the one production version of its task and scope; retire the previous."""
    current = ModelVersion.objects.select_for_update().filter(
        task=version.task, scope=version.scope, status=ModelVersion.Status.PRODUCTION
    )
    current.exclude(pk=version.pk).update(status=ModelVersion.Status.RETIRED)
    version.status = ModelVersion.Status.PRODUCTION
    version.promoted_at = timezone.now()
    version.save(update_fields=["status", "promoted_at"])
    return version


def model_directory_serve(directory: Path, *, task: str, base_model: str = "", prefix: str = "eval") -> str:
    """Serve the model in ``directory`` for ``task`` under a scope of its own; that scope.

    The scope is ``<prefix>:<first 16 hex of the files' sha256>``; the directory is registered
    and promoted there once (a later call with the same files reuses it), so the site-wide and
    course models are untouched. For evaluating a model before it serves anyone.
    """
    directory = Path(directory).resolve()
    if not (directory / "config.json").is_file():
        raise ValueError(f"{directory} is not a transformers model directory (no config.json).")
    digest = sha256_of(directory)
    scope = f"{prefix}:{digest[:16]}"
    current = model_version_production(task=task, scope=scope)
    if current is None or current.sha256 != digest or current.weights_path != str(directory):
        version = model_version_register(
            task=task,
            name=directory.name,
            base_model=base_model or directory.name,
            weights_path=directory,
            scope=scope,
        )
        model_version_promote(version=version)
    return scope


_BUNDLED: dict[str, str] = {
    ModelVersion.Task.GENERATION: "EDUAI_GENERATOR_MODEL",
    ModelVersion.Task.EMBEDDING: "EDUAI_ENCODER_MODEL",
}


def bundled_models_ensure() -> list[ModelVersion]:
    """Give each site-wide task a production version from its configured model, if it has none."""
    return [bundled_model_ensure(task=task) for task in _BUNDLED]


def bundled_model_ensure(*, task: str) -> ModelVersion:
    version = model_version_production(task=task)
    if version is None:
        version = _bundled_register(task=task, configured=getattr(settings, _BUNDLED[task]))
    return version


def _bundled_register(*, task: str, configured: str) -> ModelVersion:
    backend = ModelVersion.Backend.TRANSFORMERS
    weights = Path(configured)
    if task == ModelVersion.Task.GENERATION and settings.EDUAI_GENERATOR_BACKEND == "llama_cpp":
        backend = ModelVersion.Backend.LLAMA_CPP  # llama.cpp reads the GGUF file as it is
    else:
        weights = prepared_model_directory(configured, settings.EDUAI_MODEL_CACHE_DIR)
    try:
        with transaction.atomic():
            version = model_version_register(
                task=task,
                name=weights.name,
                base_model=Path(configured).name,
                weights_path=weights,
                backend=backend,
            )
            return model_version_promote(version=version)
    except IntegrityError:
        # Another worker process registered it at the same moment: use theirs.
        existing = model_version_production(task=task)
        if existing is None:
            raise
        return existing


class RollbackError(ValueError):
    """A version that cannot be rolled back to (shown to the admin)."""


def model_version_rollback(*, version: ModelVersion, actor: Any = None) -> ModelVersion:
    """Serve ``version`` again in place of the current production version of its task and
    scope (any earlier version that is not rejected); recorded in the audit log."""
    from eduai.audit.services import audit_record

    version.refresh_from_db()
    if version.status == ModelVersion.Status.PRODUCTION:
        raise RollbackError(f"{version} is already in production.")
    if version.status == ModelVersion.Status.REJECTED:
        raise RollbackError(f"{version} was rejected by the evaluation gate; promote it explicitly instead.")
    current = model_version_production(task=version.task, scope=version.scope)
    if current is not None and version.created_at > current.created_at:
        raise RollbackError(f"{version} is newer than the production version {current}; promote it instead.")
    with transaction.atomic():
        model_version_promote(version=version)
        audit_record(
            actor=actor,
            action="model.rollback",
            target=version,
            details={"from_version": current.pk if current is not None else None, "to_version": version.pk},
        )
    return version
