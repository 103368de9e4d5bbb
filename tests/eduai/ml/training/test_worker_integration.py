"""The pipeline through the real Celery workers (``celery_worker_process``): confirmed grades
trigger a run, the training worker trains and gates it, the inference worker scores the next
submission with the promoted version, and a rollback restores the previous one. Then a training
worker process is killed mid-run and the run resumes from its checkpoint to the same result."""

import hashlib
import os
import signal
import time
from pathlib import Path

import pytest
from django.conf import settings

from eduai.courses.models import Enrollment
from eduai.ml.models import ModelVersion, TrainingRun
from eduai.ml.services import model_version_promote, model_version_register, model_version_rollback
from eduai.ml.training.services import training_trigger_check
from grading.models import AiGrade
from grading.scoring import cold_start_scorer
from grading.services import submission_create
from tests.conftest import wait_for
from tests.eduai.ml.training.conftest import graded_assignment, queued, version_of
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _finished(run: TrainingRun, timeout: float = 900) -> TrainingRun:
    def done() -> TrainingRun | None:
        run.refresh_from_db()
        return run if run.status in TrainingRun.FINISHED else None

    wait_for(done, timeout=timeout, what=f"training run {run.pk} to finish")
    return run


def _score_new_submission(assignment, name: str) -> AiGrade:
    student = UserFactory.create(username=name)
    EnrollmentFactory.create(course=assignment.course, user=student, role=Enrollment.Role.LEARNER)
    submission = submission_create(
        assignment=assignment, student=student, text="Water moves across the semipermeable membrane."
    )
    return wait_for(
        lambda: AiGrade.objects.filter(submission=submission).select_related("model_version").first(),
        timeout=600,
        what="the inference worker's AI grade",
    )


def test_trigger_train_promote_serve_and_roll_back(celery_worker_process, tmp_path):
    assignment = graded_assignment(60)
    scope = f"assignment:{assignment.pk}"
    # The version serving before training: the cold-start scorer, registered as this scope's.
    saved = Path(settings.EDUAI_MODEL_CACHE_DIR) / "test-cold-start" / str(time.time_ns())
    cold_start_scorer().save(saved)
    old = model_version_promote(
        version=model_version_register(
            task="grading_scorer", scope=scope, name="cold-start", base_model="cold-start", weights_path=saved
        )
    )
    run = training_trigger_check(task="grading_scorer", scope=scope)
    assert run is not None
    assert run.reason == "threshold"
    assert run.trainer == "ridge"
    _finished(run)
    assert run.status == TrainingRun.Status.PROMOTED, run.log + run.error
    new = version_of(run)
    assert new.status == ModelVersion.Status.PRODUCTION
    assert new.metrics["gate"]["production_qwk"] < new.metrics["gate"]["candidate_qwk"]
    assert "promoted version" in run.log
    assert run.worker != ""

    assert _score_new_submission(assignment, "after-training").model_version_id == new.pk

    model_version_rollback(version=old, actor=None)
    assert _score_new_submission(assignment, "after-rollback").model_version_id == old.pk
    # Nothing changed since: the nightly trigger starts nothing.
    assert training_trigger_check(task="grading_scorer", scope=scope) is None


def _head_weights(run: TrainingRun) -> str:
    return hashlib.sha256((Path(version_of(run).weights_path) / "head.safetensors").read_bytes()).hexdigest()


def test_a_killed_training_worker_resumes_from_its_checkpoint(celery_worker_process):
    assignment = graded_assignment(40, seed=11)
    scope = f"assignment:{assignment.pk}"
    config = {"epochs": 400, "batch_size": 8, "hidden": 32, "checkpoint_every": 100}
    killed = queued(task="grading_scorer", scope=scope, reason="test", trainer="head", config=config, seed=9)

    def checkpointed() -> TrainingRun | None:
        killed.refresh_from_db()
        return killed if killed.status == "running" and killed.checkpoint_step >= 100 else None

    wait_for(checkpointed, timeout=600, what="the first checkpoint")
    pid = int(killed.worker.rpartition(":")[2])
    assert pid not in {process.pid for process in celery_worker_process}  # a pool process, not our Popen
    os.kill(pid, signal.SIGKILL)  # the worker process dies mid-run, after a checkpoint
    _finished(killed)
    assert killed.step == killed.total_steps
    assert killed.attempts == 2, killed.log
    assert "resumed from the checkpoint at step" in killed.log, killed.log
    resumed_at = int(killed.log.split("resumed from the checkpoint at step ")[1].split()[0])
    assert 100 <= resumed_at < killed.total_steps

    whole = queued(
        task="grading_scorer", scope=scope, reason="test", trainer="head", config=config, seed=9, force=True
    )
    _finished(whole)
    assert whole.attempts == 1
    assert "resumed" not in whole.log
    assert _head_weights(killed) == _head_weights(whole)
    assert killed.metrics["final_train_loss"] == whole.metrics["final_train_loss"]
