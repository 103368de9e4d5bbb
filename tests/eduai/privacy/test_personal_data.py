import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import CommandError, call_command
from django.test import Client

from analytics.models import LearningEvent
from eduai.audit.models import AuditEntry
from eduai.courses.models import Course, Enrollment
from eduai.privacy import personal_data
from eduai.privacy.personal_data import (
    ErasureHook,
    personal_data_erase,
    personal_data_erasure_hook_register,
    personal_data_export,
    user_pseudonyms,
)
from eduai.privacy.pseudonyms import pseudonym
from grading.models import AiGrade, Assignment, Submission
from tests.factories import (
    AiGradeFactory,
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    LearningEventFactory,
    SubmissionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def school() -> dict[str, Any]:
    course = CourseFactory.create()
    student = UserFactory.create(username="ana", first_name="Ana", last_name="Lima", email="ana@x.test")
    classmate = UserFactory.create(username="bo", first_name="Bojan", last_name="Novak", email="bo@x.test")
    instructor = UserFactory.create(username="ms-lee")
    EnrollmentFactory.create(course=course, user=student)
    EnrollmentFactory.create(course=course, user=classmate)
    EnrollmentFactory.create(course=course, user=instructor, role=Enrollment.Role.INSTRUCTOR)
    assignment = AssignmentFactory.create(course=course)
    own = SubmissionFactory.create(
        assignment=assignment, student=student, text="I worked on this with Bojan Novak (bo@x.test)."
    )
    AiGradeFactory.create(submission=own)
    SubmissionFactory.create(assignment=assignment, student=classmate, text="Bojan's own answer.")
    LearningEventFactory.create(user=student, course=course)
    LearningEventFactory.create(user=classmate, course=course)
    return {
        "course": course,
        "student": student,
        "classmate": classmate,
        "assignment": assignment,
        "own": own,
    }


def test_export_has_the_students_own_rows_with_others_redacted(school: dict[str, Any]) -> None:
    student, classmate = school["student"], school["classmate"]
    export = personal_data_export(user=student)
    json.dumps(export)  # JSON-ready
    assert export["account"]["email"] == "ana@x.test"
    submissions = export["data"]["grading.submission"]
    assert [row["id"] for row in submissions] == [school["own"].pk]
    text = submissions[0]["text"]
    assert "Bojan" not in text
    assert "bo@x.test" not in text
    assert pseudonym(user_id=classmate.pk, course_id=school["course"].pk) in text
    assert len(export["data"]["grading.aigrade"]) == 1  # below the submission
    assert len(export["data"]["analytics.learningevent"]) == 1
    assert "courses.course" not in export["data"]  # shared rows are not the student's
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_EXPORT)
    assert entry.details["user_id"] == student.pk
    assert "ana" not in json.dumps(entry.details)


def test_erasure_reaches_derived_data_and_nothing_else(
    school: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(personal_data, "_hooks", [])
    student, classmate = school["student"], school["classmate"]
    reached: list[tuple[int, frozenset[str]]] = []

    def erase_snapshots(user_id: int, pseudonyms: frozenset[str]) -> int:
        reached.append((user_id, pseudonyms))
        return 3

    personal_data_erasure_hook_register(ErasureHook("test-snapshots", erase_snapshots))
    # The admin's history names the accounts it changed: the erased one's goes, others stay.
    admin = UserFactory.create(username="it-admin", is_staff=True)
    for account in (student, classmate):
        LogEntry.objects.create(
            user=admin,
            content_type=ContentType.objects.get_for_model(account),
            object_id=str(account.pk),
            object_repr=account.username,
            action_flag=CHANGE,
        )
    pseudonyms = user_pseudonyms(student.pk)
    counts = personal_data_erase(user=student)
    assert list(LogEntry.objects.values_list("object_repr", flat=True)) == [classmate.username]
    assert counts["admin.logentry"] == 1

    assert not get_user_model().objects.filter(pk=student.pk).exists()
    assert not Submission.objects.filter(student_id=student.pk).exists()
    assert not AiGrade.objects.filter(submission_id=school["own"].pk).exists()
    assert not LearningEvent.objects.filter(actor_pseudonym__in=pseudonyms).exists()
    assert Submission.objects.filter(student=classmate).count() == 1
    assert LearningEvent.objects.filter(user=classmate).count() == 1
    assert Course.objects.filter(pk=school["course"].pk).exists()
    assert Assignment.objects.filter(pk=school["assignment"].pk).exists()
    assert reached == [(student.pk, pseudonyms)]
    assert counts["test-snapshots"] == 3
    assert counts["grading.submission"] == 1
    entry = AuditEntry.objects.get(action=AuditEntry.Action.DATA_ERASURE)
    assert entry.details["user_id"] == student.pk
    assert entry.target_label == ""  # no name of the erased person in the append-only log


def test_erasing_an_instructor_keeps_the_course_content(school: dict[str, Any]) -> None:
    instructor = get_user_model().objects.get(username="ms-lee")
    personal_data_erase(user=instructor)
    assert Assignment.objects.filter(pk=school["assignment"].pk).exists()
    assert Submission.objects.count() == 2


def test_commands(school: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "ana.json"
    call_command("personal_data_export", user="ana", out=out)
    assert json.loads(out.read_text())["account"]["username"] == "ana"
    with pytest.raises(CommandError, match="--yes"):
        call_command("personal_data_erase", user="ana")
    with pytest.raises(CommandError, match="No user"):
        call_command("personal_data_erase", user="nobody", yes=True)
    call_command("personal_data_erase", user="ana", yes=True)
    assert not get_user_model().objects.filter(username="ana").exists()


def test_admin_actions(school: dict[str, Any]) -> None:
    client = Client()
    client.force_login(UserFactory.create(username="root", is_staff=True, is_superuser=True))
    student = school["student"]
    response = client.post(
        "/admin/auth/user/", {"action": "export_personal_data", "_selected_action": [student.pk]}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'eduai-personal-data-{student.pk}.json"')
    assert json.loads(response.content)["account"]["username"] == "ana"
    client.post("/admin/auth/user/", {"action": "erase_personal_data", "_selected_action": [student.pk]})
    assert not get_user_model().objects.filter(pk=student.pk).exists()
