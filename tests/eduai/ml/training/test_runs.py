"""Training runs: the one-active-run lock, triggers, cancel, resume from a checkpoint."""

import hashlib
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from eduai.audit.models import AuditEntry
from eduai.ml.models import ModelVersion, TrainingRun
from eduai.ml.training import services
from eduai.ml.training.loop import Progress, TrainingCancelledError
from eduai.ml.training.services import (
    TrainingError,
    training_run_cancel,
    training_run_execute,
    training_run_request,
    training_trigger_check,
)
from grading.models import ConfirmedGrade, Submission
from tests.eduai.ml.training.conftest import graded_assignment, queued, version_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
HEAD = {"epochs": 20, "batch_size": 8, "hidden": 16, "checkpoint_every": 10}


def _scope(assignment):
    return f"assignment:{assignment.pk}"


def test_one_active_run_per_scope(training_dir):
    assignment = graded_assignment(10)
    first = queued(task="grading_scorer", scope=_scope(assignment), reason="test")
    assert first is not None
    assert first.status == "queued"
    # A second request returns the active run instead of queuing another.
    again = queued(task="grading_scorer", scope=_scope(assignment), reason="test", force=True)
    assert again.pk == first.pk
    # The database refuses a second active run whatever the code path.
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(
            task=first.task, scope=first.scope, snapshot=first.snapshot, trainer="ridge"
        )
    TrainingRun.objects.filter(pk=first.pk).update(status="running")
    with pytest.raises(IntegrityError), transaction.atomic():
        TrainingRun.objects.create(
            task=first.task, scope=first.scope, snapshot=first.snapshot, trainer="ridge"
        )
    # Another scope is independent.
    other = graded_assignment(10, seed=8)
    assert training_run_request(task="grading_scorer", scope=_scope(other), reason="test") is not None


def test_unchanged_data_starts_no_run_unless_forced(training_dir):
    assignment = graded_assignment(10)
    run = queued(task="grading_scorer", scope=_scope(assignment), reason="test")
    TrainingRun.objects.filter(pk=run.pk).update(status="rejected")
    assert training_run_request(task="grading_scorer", scope=_scope(assignment), reason="nightly") is None
    forced = queued(task="grading_scorer", scope=_scope(assignment), reason="admin", force=True)
    assert forced is not None
    assert forced.snapshot_id == run.snapshot_id


def test_threshold_trigger_counts_new_rows(settings, training_dir):
    settings.EDUAI_TRAINING_TRIGGER_NEW_ROWS = 10
    assignment = graded_assignment(9)
    assert training_trigger_check(task="grading_scorer", scope=_scope(assignment)) is None
    student = UserFactory.create()
    submission = Submission.objects.create(assignment=assignment, student=student, text="Water moves.")
    ConfirmedGrade.objects.create(submission=submission, score=Decimal(1), decision="approved")
    run = training_trigger_check(task="grading_scorer", scope=_scope(assignment))
    assert run is not None
    assert run.reason == "threshold"
    assert run.snapshot.source_count == 10
    TrainingRun.objects.filter(pk=run.pk).update(status="promoted")
    assert training_trigger_check(task="grading_scorer", scope=_scope(assignment)) is None
    assert AuditEntry.objects.filter(action="model.train", target_id=str(run.pk)).exists()


def test_an_unknown_trainer_is_refused(training_dir):
    with pytest.raises(TrainingError, match="does not train"):
        training_run_request(task="grading_scorer", scope="assignment:1", reason="test", trainer="lora")


def test_cancel_a_queued_run_at_once_and_a_running_one_at_its_next_report(training_dir):
    assignment = graded_assignment(10)
    waiting = queued(task="grading_scorer", scope=_scope(assignment), reason="test")
    assert training_run_cancel(run=waiting).status == "cancelled"
    assert training_run_execute(run_id=waiting.pk) is services.Claim.DONE  # a late delivery does nothing

    running = queued(task="grading_scorer", scope=_scope(assignment), reason="test", force=True)
    assert services._claim(running.pk, "host:1") is services.Claim.CLAIMED
    reporter = services._Reporter(running.pk, "host:1")
    reporter.report(Progress(1, 10, 0, 0.5, 0, None))
    training_run_cancel(run=running)
    running.refresh_from_db()
    assert running.status == "running"
    assert running.cancel_requested
    reporter.report(Progress(2, 10, 0, 0.4, 0, None))  # reports are throttled to one per 2 s...
    with pytest.raises(TrainingCancelledError):
        reporter.report(Progress(3, 10, 0, 0.4, 3, None))  # ...but every checkpoint reports


def test_a_cancelled_running_run_stops_when_a_worker_takes_it(training_dir):
    assignment = graded_assignment(10)
    run = queued(task="grading_scorer", scope=_scope(assignment), reason="test")
    TrainingRun.objects.filter(pk=run.pk).update(
        status="running", worker="gone-host:1", cancel_requested=True
    )
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert "cancelled" in run.log
    assert run.model_version is None


def test_a_run_on_a_live_worker_elsewhere_is_not_taken_over(training_dir):
    assignment = graded_assignment(10)
    run = queued(task="grading_scorer", scope=_scope(assignment), reason="test")
    assert services._claim(run.pk, "other-host:4242") is services.Claim.CLAIMED
    TrainingRun.objects.filter(pk=run.pk).update(
        heartbeat_at=run.created_at.__class__.now(run.created_at.tzinfo)
    )
    assert training_run_execute(run_id=run.pk) is services.Claim.BUSY


def _weights(run: TrainingRun) -> str:
    return hashlib.sha256((Path(version_of(run).weights_path) / "head.safetensors").read_bytes()).hexdigest()


def test_a_resumed_run_ends_like_an_uninterrupted_one(training_dir):
    assignment = graded_assignment(30)
    scope = _scope(assignment)
    whole = queued(task="grading_scorer", scope=scope, reason="test", trainer="head", config=HEAD, seed=5)
    training_run_execute(run_id=whole.pk)
    whole.refresh_from_db()
    assert whole.status in ("promoted", "rejected")
    assert whole.step == whole.total_steps > 30

    broken = queued(
        task="grading_scorer", scope=scope, reason="test", trainer="head", config=HEAD, seed=5, force=True
    )
    training_run_execute(run_id=broken.pk, stop_after_step=30)  # as if the worker died after step 30
    broken.refresh_from_db()
    assert broken.status == "running"
    assert broken.checkpoint_step == 30
    assert broken.model_version is None
    training_run_execute(run_id=broken.pk)  # the redelivered task, same worker process
    broken.refresh_from_db()
    assert "resumed from the checkpoint at step 30" in broken.log
    assert broken.attempts == 2
    assert _weights(broken) == _weights(whole)
    assert broken.metrics["final_train_loss"] == whole.metrics["final_train_loss"]
    assert (
        version_of(broken).metrics["gate"]["candidate_qwk"]
        == version_of(whole).metrics["gate"]["candidate_qwk"]
    )
    # Another seed trains other weights (the comparison above can fail).
    other = queued(
        task="grading_scorer", scope=scope, reason="test", trainer="head", config=HEAD, seed=6, force=True
    )
    training_run_execute(run_id=other.pk)
    other.refresh_from_db()
    assert _weights(other) != _weights(whole)
    assert not Path(services.run_directory(other)).exists()  # checkpoints removed once finished


def test_ridge_run_is_gated_and_promoted_with_an_audit_entry(training_dir):
    assignment = graded_assignment(60)
    run = queued(task="grading_scorer", scope=_scope(assignment), reason="test", trainer="ridge")
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    gate = version_of(run).metrics["gate"]
    assert gate["test_rows"] == run.snapshot.split_counts["test"]
    assert run.status == "promoted", run.log
    assert gate["candidate_qwk"] >= gate["production_qwk"] + gate["margin"]
    version = version_of(run)
    assert version.status == ModelVersion.Status.PRODUCTION
    assert version.scope == _scope(assignment)
    entry = AuditEntry.objects.get(action="model.promote", target_id=str(version.pk))
    assert entry.actor_label == "system"
    assert entry.details["training_run"] == run.pk


def test_nightly_queues_each_scope_whose_data_changed(training_dir):
    changed = graded_assignment(10)
    runs = services.training_runs_nightly()
    assert [(run.scope, run.reason) for run in runs] == [(_scope(changed), "nightly")]
    TrainingRun.objects.filter(pk=runs[0].pk).update(status="promoted")
    assert services.training_runs_nightly() == []  # nothing changed since


def test_recover_reenqueues_lost_and_silent_runs(settings, training_dir, monkeypatch):
    enqueued: list[int] = []

    def enqueue(run_id: int) -> bool:
        enqueued.append(run_id)
        return True

    monkeypatch.setattr(services, "_enqueue", enqueue)
    settings.EDUAI_TRAINING_STALE_SECONDS = 60
    lost = queued(task="grading_scorer", scope=_scope(graded_assignment(10)), reason="test")
    silent = queued(task="grading_scorer", scope=_scope(graded_assignment(10, seed=3)), reason="t")
    fresh = queued(task="grading_scorer", scope=_scope(graded_assignment(10, seed=4)), reason="t")
    long_ago = timezone.now() - timedelta(minutes=5)
    TrainingRun.objects.filter(pk=lost.pk).update(created_at=long_ago)
    TrainingRun.objects.filter(pk=silent.pk).update(status="running", heartbeat_at=long_ago)
    TrainingRun.objects.filter(pk=fresh.pk).update(status="running", heartbeat_at=timezone.now())
    assert sorted(services.training_runs_recover()) == sorted([lost.pk, silent.pk]) == sorted(enqueued)
