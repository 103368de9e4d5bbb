"""Writes of the fine-tuning pipeline: request, trigger, execute (claim, train, gate), cancel.

A run is created only from a new snapshot (unchanged data starts nothing, unless an admin
forces it), at most one queued or running per task and scope (a partial unique index), and is
executed by ``tasks.training_run_execute`` on the ``training`` queue. The task is acknowledged
late and given back to the broker when its worker dies; the next delivery takes the run over
(its old worker process is gone, or silent for ``EDUAI_TRAINING_STALE_SECONDS``) and resumes
from the last checkpoint.
"""

import logging
import os
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Right
from django.utils import timezone

from eduai.celery import task_send
from eduai.ml.devices import select_device
from eduai.ml.models import ModelVersion
from eduai.ml.selectors import model_version_production
from eduai.ml.services import bundled_model_ensure, model_version_promote, model_version_register
from eduai.ml.storage import verify_checksum

from . import evaluation
from .loop import Progress, TrainingCancelledError, TrainingContext, TrainingLostError
from .models import TrainingRun, TrainingSnapshot
from .snapshots import snapshot_build, snapshot_rows
from .sources import kind_for_task, training_source

logger = logging.getLogger(__name__)

TRAINERS = {"grading_scorer": ("ridge", "head", "finetune"), "generation": ("lora",)}
REPORT_EVERY_SECONDS = 2.0
LOG_MAX_CHARS = 20_000
User = AbstractBaseUser | AnonymousUser | None


class TrainingError(Exception):
    """A run that cannot start or go on (bad trainer, no base model, ...): shown in the admin."""


def _audit(*, actor: User, action: str, target: Any, details: dict[str, Any]) -> None:
    from eduai.audit.services import audit_record

    audit_record(actor=actor, action=action, target=target, details=details)


def default_trainer(task: str) -> str:
    if task == ModelVersion.Task.GRADING_SCORER:
        return str(settings.EDUAI_TRAINING_GRADING_TRAINER)
    if task == ModelVersion.Task.GENERATION:
        return "lora"
    raise TrainingError(f"Task {task!r} cannot be trained; trainable: {sorted(TRAINERS)}.")


def _enqueue(run_id: int) -> bool:
    """With the broker down the run stays queued and ``training_runs_recover`` sends it."""
    from .tasks import training_run_execute

    return task_send(training_run_execute, run_id)


def training_stale_after() -> timedelta:
    """A queued run, or a running one whose worker is silent, this long had its task lost."""
    return timedelta(seconds=settings.EDUAI_TRAINING_STALE_SECONDS)


def training_run_request(
    *,
    task: str,
    scope: str,
    reason: str,
    actor: User = None,
    force: bool = False,
    trainer: str | None = None,
    config: dict[str, Any] | None = None,
    seed: int = 0,
) -> TrainingRun | None:
    """Snapshot the scope's data and queue a run on it. None when the data has not changed
    since the last snapshot (``force``: run anyway) or another run of the scope is active
    (that run is returned)."""
    trainer = trainer or default_trainer(task)
    if trainer not in TRAINERS.get(task, ()):
        raise TrainingError(f"Trainer {trainer!r} does not train {task!r}; choose from {TRAINERS.get(task)}.")
    active = TrainingRun.objects.filter(task=task, scope=scope, status__in=TrainingRun.ACTIVE).first()
    if active is not None:
        return active
    result = snapshot_build(task=task, scope=scope)
    if not result.created and not force:
        return None
    try:
        with transaction.atomic():
            run = TrainingRun.objects.create(
                task=task,
                scope=scope,
                snapshot=result.snapshot,
                trainer=trainer,
                config=config or {},
                seed=seed,
                reason=reason,
                requested_by_id=actor.pk if actor is not None and actor.is_authenticated else None,
            )
    except IntegrityError:  # another request queued one at the same moment: the lock held
        return TrainingRun.objects.filter(task=task, scope=scope, status__in=TrainingRun.ACTIVE).first()
    _audit(
        actor=actor,
        action="model.train",
        target=run,
        details={"reason": reason, "snapshot": result.snapshot.pk, "rows": result.snapshot.row_count},
    )
    transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def training_trigger_check(*, task: str, scope: str) -> TrainingRun | None:
    """For the apps, after they add training data (a confirmed grade, an endorsed answer):
    queue a run once ``EDUAI_TRAINING_TRIGGER_NEW_ROWS`` rows arrived since the last snapshot."""
    source = training_source(kind_for_task(task))
    count = source.count(scope)
    last = TrainingSnapshot.objects.filter(task=task, scope=scope).first()
    if count - (last.source_count if last is not None else 0) < settings.EDUAI_TRAINING_TRIGGER_NEW_ROWS:
        return None
    return training_run_request(task=task, scope=scope, reason="threshold")


def training_runs_nightly() -> list[TrainingRun]:
    """Every scope with training data gets a run when its data changed since its last snapshot."""
    runs = []
    for task in TRAINERS:
        for scope in training_source(kind_for_task(task)).scopes():
            try:
                run = training_run_request(task=task, scope=scope, reason="nightly")
            except Exception:
                logger.exception("Nightly training of %s %r could not be queued", task, scope)
                continue
            if run is not None:
                runs.append(run)
    return runs


def training_runs_recover(*, older_than: timedelta | None = None) -> list[int]:
    """Re-enqueue runs whose message was lost: queued for long, or running with a silent worker
    (``older_than``, by default ``training_stale_after()``). A copy of a run's task finds it
    claimed by a live worker and tries again later, or finished, and does nothing."""
    stale = timezone.now() - (training_stale_after() if older_than is None else older_than)
    ids = list(
        TrainingRun.objects.filter(status=TrainingRun.Status.QUEUED, created_at__lt=stale).values_list(
            "pk", flat=True
        )
    ) + list(
        TrainingRun.objects.filter(status=TrainingRun.Status.RUNNING, heartbeat_at__lt=stale).values_list(
            "pk", flat=True
        )
    )
    sent = []
    for run_id in ids:
        if not _enqueue(run_id):
            break  # the broker is down: the next sweep sends the rest
        sent.append(run_id)
    return sent


def training_run_cancel(*, run: TrainingRun, actor: User = None) -> TrainingRun:
    """A queued run is cancelled at once; a running one at its next progress report."""
    now = timezone.now()
    TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.QUEUED).update(
        status=TrainingRun.Status.CANCELLED, cancel_requested=True, finished_at=now
    )
    TrainingRun.objects.filter(pk=run.pk, status=TrainingRun.Status.RUNNING).update(cancel_requested=True)
    run.refresh_from_db()
    return run


# --- execution ---------------------------------------------------------------------------------
def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _worker_gone(run: TrainingRun) -> bool:
    host, _, pid = run.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        else:
            return False
    stale = timezone.now() - timedelta(seconds=settings.EDUAI_TRAINING_STALE_SECONDS)
    return run.heartbeat_at is None or run.heartbeat_at < stale


class Claim(Enum):
    CLAIMED = "claimed"
    BUSY = "busy"  # running on a live worker elsewhere: try again later
    DONE = "done"  # finished or cancelled: nothing to do


def _claim(run_id: int, me: str) -> Claim:
    run = TrainingRun.objects.get(pk=run_id)
    now = timezone.now()
    fields = {"worker": me, "heartbeat_at": now, "attempts": F("attempts") + 1}
    if run.status == TrainingRun.Status.QUEUED:
        claimed = TrainingRun.objects.filter(pk=run_id, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.RUNNING, started_at=now, **fields
        )
    elif run.status == TrainingRun.Status.RUNNING:
        if run.worker != me and not _worker_gone(run):
            return Claim.BUSY
        claimed = TrainingRun.objects.filter(
            pk=run_id, status=TrainingRun.Status.RUNNING, worker=run.worker
        ).update(**fields)
    else:
        return Claim.DONE
    return Claim.CLAIMED if claimed else Claim.BUSY


class _Reporter:
    """Progress and log writes of the run this worker owns; raises when it was cancelled or
    taken over."""

    def __init__(self, run_id: int, me: str) -> None:
        self.run_id, self.me = run_id, me
        self.last = 0.0
        self.checkpoint = -1

    def _owned(self) -> Any:
        return TrainingRun.objects.filter(pk=self.run_id, worker=self.me, status=TrainingRun.Status.RUNNING)

    def log(self, message: str) -> None:
        line = f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"
        logger.info("Training run %s: %s", self.run_id, message)
        self._owned().update(log=Right(Concat(F("log"), Value(line)), LOG_MAX_CHARS))  # keep the tail

    def report(self, progress: Progress) -> None:
        now = time.monotonic()
        new_checkpoint = progress.checkpoint_step != self.checkpoint
        if (
            not new_checkpoint
            and now - self.last < REPORT_EVERY_SECONDS
            and progress.step < progress.total_steps
        ):
            return
        self.last, self.checkpoint = now, progress.checkpoint_step
        updated = self._owned().update(
            step=progress.step,
            total_steps=progress.total_steps,
            epoch=progress.epoch,
            loss=progress.loss,
            eta_seconds=progress.eta_seconds,
            checkpoint_step=progress.checkpoint_step,
            heartbeat_at=timezone.now(),
        )
        if not updated:
            raise TrainingLostError(f"run {self.run_id} is no longer this worker's")
        if TrainingRun.objects.filter(pk=self.run_id, cancel_requested=True).exists():
            raise TrainingCancelledError(f"run {self.run_id} was cancelled")


def _finish(run_id: int, me: str, status: str, **fields: Any) -> None:
    TrainingRun.objects.filter(pk=run_id, worker=me).update(
        status=status, finished_at=timezone.now(), **fields
    )


def _run_key(run: TrainingRun) -> str:
    # Unique across databases too (a test database starts its ids at 1 again).
    return f"run-{run.pk}-{run.created_at:%Y%m%dT%H%M%S%f}"


def run_directory(run: TrainingRun) -> Path:
    return Path(settings.EDUAI_TRAINING_DIR) / "runs" / _run_key(run)


def output_directory(run: TrainingRun) -> Path:
    scope = "".join(c if c.isalnum() or c in "-_" else "-" for c in run.scope) or "site"
    # Kept as long as its ModelVersion (every version stays, for rollback).
    return Path(settings.EDUAI_TRAINING_DIR) / "versions" / run.task / scope / _run_key(run)


def _generation_base(scope: str) -> ModelVersion:
    version = model_version_production(task=ModelVersion.Task.GENERATION, scope=scope)
    if version is None:
        version = bundled_model_ensure(task=ModelVersion.Task.GENERATION)
    if version.backend != ModelVersion.Backend.TRANSFORMERS:
        raise TrainingError(
            f"The production generator {version.name} runs on {version.backend}; LoRA needs a transformers "
            "model directory (set EDUAI_GENERATOR_BACKEND=transformers)."
        )
    return version


@dataclass(frozen=True)
class _Candidate:
    directory: Path
    metrics: dict[str, Any]
    base_model: str


def _train(run: TrainingRun, context: TrainingContext) -> _Candidate:
    from .grading_trainers import train_finetune, train_head, train_ridge

    rows = snapshot_rows(run.snapshot, "train")
    output = output_directory(run)
    output.parent.mkdir(parents=True, exist_ok=True)
    if run.trainer == "ridge":
        trained = train_ridge(rows, output, context)
    elif run.trainer == "head":
        trained = train_head(rows, output, context)
    elif run.trainer == "finetune":
        trained = train_finetune(rows, output, context)
    elif run.trainer == "lora":
        from .tutor_trainer import pairs_of, train_lora

        if not pairs_of(rows):
            raise TrainingError("The snapshot has no endorsed or corrected answers to train on.")
        base = _generation_base(run.scope)
        trained = train_lora(rows, output, context, base=Path(base.weights_path), base_name=base.name)
    else:
        raise TrainingError(f"Unknown trainer {run.trainer!r}.")
    return _Candidate(trained.directory, {**trained.metrics, "train_rows": len(rows)}, trained.base_model)


def _production_scorer(scope: str) -> tuple[Any, ModelVersion | None]:
    from grading.scoring import cold_start_scorer, scorer_load

    version = model_version_production(task=ModelVersion.Task.GRADING_SCORER, scope=scope)
    if version is None:
        return cold_start_scorer(), None
    verify_checksum(Path(version.weights_path), version.sha256)
    return scorer_load(Path(version.weights_path)), version


def _gate(run: TrainingRun, candidate: ModelVersion) -> evaluation.GateResult:
    test_rows = snapshot_rows(run.snapshot, "test")
    margin = evaluation.promotion_margin()
    if run.task == ModelVersion.Task.GRADING_SCORER:
        from grading.scoring import scorer_load

        production, _ = _production_scorer(run.scope)
        return evaluation.grading_gate(
            candidate=scorer_load(Path(candidate.weights_path)),
            production=production,
            test_rows=test_rows,
            margin=margin,
        )
    base = _generation_base(run.scope)
    return evaluation.tutor_gate(
        candidate=Path(candidate.weights_path),
        production=Path(base.weights_path),
        test_rows=test_rows,
        scope=run.scope,
        margin=margin,
        device=select_device(),
        probe_tokens=int(run.config.get("probe_tokens", evaluation.PROBE_TOKENS)),
    )


def training_run_execute(*, run_id: int, stop_after_step: int | None = None) -> Claim:
    """Claim the run (or take it over from a dead worker), train from its last checkpoint,
    register the candidate, gate it, and promote or reject it."""
    me = worker_id()
    claim = _claim(run_id, me)
    if claim is not Claim.CLAIMED:
        return claim
    run = TrainingRun.objects.select_related("snapshot", "model_version", "requested_by").get(pk=run_id)
    reporter = _Reporter(run_id, me)
    reporter.log(f"started on {me} (attempt {run.attempts}), trainer {run.trainer}, seed {run.seed}")
    directory = run_directory(run)
    TrainingRun.objects.filter(pk=run_id).update(checkpoint_dir=str(directory))
    try:
        if run.cancel_requested:
            raise TrainingCancelledError(f"run {run_id} was cancelled")
        version = run.model_version
        if version is None:
            context = TrainingContext(
                directory=directory,
                seed=run.seed,
                config=run.config,
                device=select_device(),
                checkpoint_every=int(
                    run.config.get("checkpoint_every", settings.EDUAI_TRAINING_CHECKPOINT_EVERY)
                ),
                report=reporter.report,
                log=reporter.log,
                stop_after_step=stop_after_step,
            )
            trained = _train(run, context)
            version = model_version_register(
                task=run.task,
                scope=run.scope,
                name=f"{run.trainer}-run-{run.pk}",
                base_model=trained.base_model,
                weights_path=trained.directory,
                metrics={
                    **trained.metrics,
                    "training_run": run.pk,
                    "snapshot": run.snapshot.content_hash[:16],
                },
            )
            TrainingRun.objects.filter(pk=run_id, worker=me).update(
                model_version=version, metrics=trained.metrics
            )
            reporter.log(f"registered candidate version {version.pk}")
        gate = _gate(run, version)
        _decide(run, version, gate, me, reporter)
    except TrainingCancelledError:
        reporter.log("cancelled")
        _finish(run_id, me, TrainingRun.Status.CANCELLED)
    except TrainingLostError as lost:
        logger.warning("Training run %s: %s", run_id, lost)
    except Exception as error:
        from celery.exceptions import SoftTimeLimitExceeded

        from eduai.celery import TRANSIENT_ERRORS

        if isinstance(error, TRANSIENT_ERRORS) and not isinstance(error, SoftTimeLimitExceeded):
            raise  # retried by the task; the retry resumes from the checkpoint
        logger.exception("Training run %s failed", run_id)
        reporter.log(f"failed: {error}")
        _finish(run_id, me, TrainingRun.Status.FAILED, error=str(error)[:2000])
    return Claim.DONE


def _decide(
    run: TrainingRun, version: ModelVersion, gate: evaluation.GateResult, me: str, reporter: _Reporter
) -> None:
    metrics = {**version.metrics, "gate": gate.metrics, "gate_reasons": gate.reasons}
    with transaction.atomic():
        ModelVersion.objects.filter(pk=version.pk).update(metrics=metrics)
        version.metrics = metrics
        if gate.promote:
            previous = model_version_production(task=version.task, scope=version.scope)
            model_version_promote(version=version)
            _audit(
                actor=run.requested_by,
                action="model.promote",
                target=version,
                details={
                    "training_run": run.pk,
                    "previous": previous.pk if previous else None,
                    **gate.metrics,
                },
            )
            reporter.log(f"promoted version {version.pk}: {gate.metrics}")
            _finish(run.pk, me, TrainingRun.Status.PROMOTED, metrics=metrics)
        else:
            ModelVersion.objects.filter(pk=version.pk).update(status=ModelVersion.Status.REJECTED)
            reporter.log(f"rejected version {version.pk}: {'; '.join(gate.reasons)}")
            _finish(run.pk, me, TrainingRun.Status.REJECTED, metrics=metrics)
    shutil.rmtree(run_directory(run), ignore_errors=True)  # checkpoints are not needed any more
