"""Snapshots: redacted rows, content hash, deterministic split, unchanged data => same snapshot."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from eduai.ml.training.snapshots import row_split, snapshot_build, snapshot_content, snapshot_rows
from eduai.ml.training.sources import TrainingDataError, training_source
from eduai.privacy.pseudonyms import pseudonym
from grading.models import ConfirmedGrade, Submission
from tests.eduai.ml.training.conftest import graded_assignment
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_split_depends_only_on_the_row_id():
    ids = [f"confirmed-grade:{n}" for n in range(2000)]
    splits = [row_split(row_id) for row_id in ids]
    assert splits == [row_split(row_id) for row_id in ids]
    share = {name: splits.count(name) / len(ids) for name in ("train", "validation", "test")}
    assert share["train"] == pytest.approx(0.7, abs=0.04)
    assert share["validation"] == pytest.approx(0.1, abs=0.03)
    assert share["test"] == pytest.approx(0.2, abs=0.03)


def test_content_is_independent_of_row_order():
    rows = [{"id": "b", "x": 1}, {"id": "a", "x": 2}]
    assert snapshot_content(rows) == snapshot_content(list(reversed(rows)))
    assert snapshot_content(rows) != snapshot_content([{"id": "b", "x": 1}, {"id": "a", "x": 3}])


def test_snapshot_is_redacted_pseudonymised_and_hashed(training_dir):
    assignment = graded_assignment(20)
    result = snapshot_build(task="grading_scorer", scope=f"assignment:{assignment.pk}")
    snapshot = result.snapshot
    assert result.created
    assert snapshot.row_count == 20
    assert sum(snapshot.split_counts.values()) == 20
    assert Path(snapshot.path).is_relative_to(training_dir)
    text = Path(snapshot.path).read_text()
    assert "Marguerite" not in text
    assert "Okonkwo" not in text
    assert "@school.test" not in text
    assert snapshot.redactions["roster"] >= 4
    rows = snapshot_rows(snapshot)
    first = Submission.objects.filter(assignment=assignment).order_by("pk")[0]
    named = next(row for row in rows if row["id"] == f"confirmed-grade:{first.confirmed_grade.pk}")
    student = pseudonym(user_id=first.student_id, course_id=assignment.course_id)
    assert named["student"] == student
    assert named["answer"].startswith(student)
    assert all(row["split"] == row_split(row["id"]) for row in rows)
    assert {json.loads(line)["id"] for line in text.splitlines()} == {row["id"] for row in rows}


def test_unchanged_data_gives_the_same_snapshot_and_new_data_a_new_one(training_dir):
    assignment = graded_assignment(12)
    scope = f"assignment:{assignment.pk}"
    first = snapshot_build(task="grading_scorer", scope=scope)
    again = snapshot_build(task="grading_scorer", scope=scope)
    assert not again.created
    assert again.snapshot.pk == first.snapshot.pk
    submission = Submission.objects.create(
        assignment=assignment, student=UserFactory.create(), text="Water moves."
    )
    ConfirmedGrade.objects.create(submission=submission, score=Decimal(1), decision="approved")
    grown = snapshot_build(task="grading_scorer", scope=scope)
    assert grown.created
    assert grown.snapshot.content_hash != first.snapshot.content_hash
    old = {row["id"]: row["split"] for row in snapshot_rows(first.snapshot)}
    new = {row["id"]: row["split"] for row in snapshot_rows(grown.snapshot)}
    assert all(new[row_id] == split for row_id, split in old.items())  # no row changes split


def test_a_tampered_snapshot_file_is_refused(training_dir):
    assignment = graded_assignment(6)
    snapshot = snapshot_build(task="grading_scorer", scope=f"assignment:{assignment.pk}").snapshot
    Path(snapshot.path).write_text(Path(snapshot.path).read_text().replace("membrane", "membrane!"))
    with pytest.raises(ValueError, match="does not match its hash"):
        snapshot_rows(snapshot)


def test_bad_scopes_and_tasks_are_named():
    with pytest.raises(TrainingDataError, match="assignment:<id>"):
        training_source("grading").rows("course:1")
    with pytest.raises(TrainingDataError, match="no training data"):
        snapshot_build(task="embedding", scope="")


def test_tutor_source_has_pairs_and_preferences(training_dir):
    from tests.eduai.ml.training.conftest import tutor_course

    course = tutor_course(pairs=5, ratings=2)
    rows = training_source("tutor").rows(f"course:{course.pk}").rows
    assert [row["type"] for row in rows].count("pair") == 5
    preferences = [row for row in rows if row["type"] == "preference"]
    assert len(preferences) == 2
    assert all(0 <= row["rating"] <= 1 for row in preferences)
    text = json.dumps(rows)
    assert "Okonkwo" not in text
    assert "555-123-4567" not in text


def test_erasing_a_student_drops_their_rows_from_every_snapshot(training_dir):
    from eduai.privacy.personal_data import personal_data_erase

    assignment = graded_assignment(12)
    snapshot = snapshot_build(task="grading_scorer", scope=f"assignment:{assignment.pk}").snapshot
    erased = Submission.objects.filter(assignment=assignment).order_by("pk")[0]
    erased_id = f"confirmed-grade:{erased.confirmed_grade.pk}"
    student = pseudonym(user_id=erased.student_id, course_id=assignment.course_id)

    counts = personal_data_erase(user=erased.student)

    assert counts["ml.training-snapshots"] == 1
    snapshot.refresh_from_db()
    rows = snapshot_rows(snapshot)  # the hash was updated with the file
    assert len(rows) == snapshot.row_count == 11
    assert erased_id not in {row["id"] for row in rows}
    assert student not in {row["student"] for row in rows}
