"""The evaluation gate's decisions, and rollback to an earlier version (service and admin)."""

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import reverse

from eduai.audit.models import AuditEntry
from eduai.ml.models import ModelVersion, TrainingRun
from eduai.ml.services import (
    RollbackError,
    model_version_promote,
    model_version_register,
    model_version_rollback,
)
from eduai.ml.training.evaluation import grading_gate, grading_qwk
from grading.scoring import ScorePrediction
from tests.eduai.ml.training.conftest import graded_assignment, queued
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@dataclass
class ConstantScorer:
    """Always the same score: a scorer that has learnt nothing."""

    score: float
    kind: str = "constant"

    def predict(self, items):
        return [ScorePrediction(score=self.score, confidence=0.5, criteria=()) for _ in items]

    def save(self, directory: Path) -> None:
        raise NotImplementedError


@dataclass
class TableScorer:
    """Scores looked up by answer: the instructors' own grades (or a copy off by ``offset``)."""

    table: dict[str, float]
    offset: float = 0.0
    kind: str = "table"

    def predict(self, items):
        return [
            ScorePrediction(
                score=item.clip(self.table[item.answer] + self.offset), confidence=1.0, criteria=()
            )
            for item in items
        ]

    def save(self, directory: Path) -> None:
        raise NotImplementedError


def _rows(scores):
    return [
        {
            "id": f"r{i}",
            "prompt_id": "p",
            "question": "Q?",
            "reference_answers": ["R"],
            "rubric": [],
            "min_score": 0.0,
            "max_score": 4.0,
            "answer": f"answer {i}",
            "score": float(score),
            "split": "test",
        }
        for i, score in enumerate(scores)
    ]


def test_grading_gate_promotes_only_a_better_candidate():
    rows = _rows([0, 1, 2, 3, 4, 2, 1, 3])
    truth = TableScorer({row["answer"]: row["score"] for row in rows})
    assert grading_qwk(truth, rows) == pytest.approx(1.0)
    better = grading_gate(candidate=truth, production=ConstantScorer(2.0), test_rows=rows, margin=0.05)
    assert better.promote
    assert better.metrics["candidate_qwk"] == 1.0
    assert better.metrics["production_qwk"] == 0.0
    worse = grading_gate(candidate=ConstantScorer(2.0), production=truth, test_rows=rows, margin=0.0)
    assert not worse.promote
    assert "not above production" in worse.reasons[0]
    # Better, but not by the margin.
    close = TableScorer(truth.table, offset=0.0)
    slightly = grading_gate(
        candidate=close, production=TableScorer(truth.table, offset=0.4), test_rows=rows, margin=0.5
    )
    assert not slightly.promote
    too_few = grading_gate(candidate=truth, production=ConstantScorer(2.0), test_rows=rows[:2], margin=0.0)
    assert not too_few.promote
    assert "held-out rows" in too_few.reasons[0]


def _version(tmp_path: Path, name: str, scope: str = "assignment:9") -> ModelVersion:
    directory = tmp_path / name
    directory.mkdir()
    (directory / "scorer.json").write_text(f'{{"kind": "{name}"}}')
    return model_version_register(
        task="grading_scorer", scope=scope, name=name, base_model="test", weights_path=directory
    )


def test_rollback_serves_an_earlier_version_again_and_is_audited(tmp_path):
    admin_user = UserFactory.create(username="it-admin")
    first = model_version_promote(version=_version(tmp_path, "v1"))
    second = model_version_promote(version=_version(tmp_path, "v2"))
    third = model_version_promote(version=_version(tmp_path, "v3"))
    model_version_rollback(version=first, actor=admin_user)
    statuses = dict(ModelVersion.objects.filter(scope="assignment:9").values_list("name", "status"))
    assert statuses == {"v1": "production", "v2": "retired", "v3": "retired"}
    entry = AuditEntry.objects.get(action="model.rollback")
    assert entry.actor_label == "it-admin"
    assert entry.details == {
        "from_version": third.pk,
        "to_version": first.pk,
    }
    with pytest.raises(RollbackError, match="already in production"):
        model_version_rollback(version=first, actor=admin_user)
    with pytest.raises(RollbackError, match="newer than the production"):
        model_version_rollback(version=second, actor=admin_user)
    rejected = _version(tmp_path, "v0")
    ModelVersion.objects.filter(pk=rejected.pk).update(status="rejected")
    rejected.refresh_from_db()
    with pytest.raises(RollbackError, match="rejected"):
        model_version_rollback(version=rejected, actor=admin_user)


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    return client


def test_admin_rollback_action(admin_client, tmp_path):
    first = model_version_promote(version=_version(tmp_path, "v1"))
    model_version_promote(version=_version(tmp_path, "v2"))
    response = admin_client.post(
        reverse("admin:ml_modelversion_changelist"),
        {"action": "roll_back", "_selected_action": [first.pk]},
        follow=True,
    )
    assert response.status_code == 200
    first.refresh_from_db()
    assert first.status == "production"
    assert "Rolled back" in response.content.decode()


def test_admin_runs_list_cancel_and_train_now(admin_client, training_dir):
    assignment = graded_assignment(10)
    run = queued(task="grading_scorer", scope=f"assignment:{assignment.pk}", reason="test")
    TrainingRun.objects.filter(pk=run.pk).update(status="running", step=5, total_steps=20, log="step 5\n")
    page = admin_client.get(reverse("admin:ml_trainingrun_changelist")).content.decode()
    assert "step 5/20" in page
    assert "Train now" in page
    detail = admin_client.get(reverse("admin:ml_trainingrun_change", args=[run.pk])).content.decode()
    assert "step 5" in detail
    admin_client.post(
        reverse("admin:ml_trainingrun_changelist"), {"action": "cancel", "_selected_action": [run.pk]}
    )
    run.refresh_from_db()
    assert run.cancel_requested
    TrainingRun.objects.filter(pk=run.pk).update(status="cancelled")
    form = admin_client.get(reverse("admin:ml_trainingrun_train_now"))
    assert form.status_code == 200
    admin_client.post(
        reverse("admin:ml_trainingrun_train_now"),
        {"task": "grading_scorer", "scope": f"assignment:{assignment.pk}", "force": "on"},
    )
    waiting = TrainingRun.objects.select_related("requested_by").get(status="queued")
    assert waiting.reason == "admin"
    assert waiting.requested_by is not None
    assert waiting.requested_by.username == "root"
    bad = admin_client.post(
        reverse("admin:ml_trainingrun_train_now"),
        {"task": "grading_scorer", "scope": "course:1"},
        follow=True,
    )
    assert "assignment:&lt;id&gt;" in bad.content.decode()


def test_admin_promote_action_is_audited(admin_client, tmp_path):
    version = _version(tmp_path, "v1")
    admin_client.post(
        reverse("admin:ml_modelversion_changelist"), {"action": "promote", "_selected_action": [version.pk]}
    )
    version.refresh_from_db()
    assert version.status == "production"
    entry = AuditEntry.objects.get(action="model.promote", target_id=str(version.pk))
    assert entry.actor_label == "root"
