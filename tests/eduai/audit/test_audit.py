import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, connection, transaction
from django.test import Client
from lti_tool.models import LtiRegistration

from eduai.audit.models import AppendOnlyError, AuditEntry
from eduai.audit.services import audit_record
from tests.factories import CourseFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_record_names_actor_course_and_target_by_id_and_label() -> None:
    instructor = UserFactory.create(username="ms-lee")
    course = CourseFactory.create(title="Biology 101")
    entry = audit_record(
        actor=instructor,
        action=AuditEntry.Action.GRADE_OVERRIDE,
        target=course,
        course=course,
        details={"from": 6, "to": 8},
    )
    entry.refresh_from_db()
    assert (entry.actor_id, entry.actor_label) == (instructor.pk, "ms-lee")
    assert (entry.course_id, entry.course_label) == (course.pk, str(course))
    assert entry.target_type == "courses.course"
    assert entry.target_id == str(course.pk)
    assert entry.details == {"from": 6, "to": 8}


def test_system_actor_and_unknown_action() -> None:
    assert audit_record(actor=None, action="model.promote").actor_label == "system"
    with pytest.raises(ValueError, match="not a valid"):
        audit_record(actor=None, action="grade.delete-everything")


def test_entries_survive_deleting_their_actor_and_course() -> None:
    instructor = UserFactory.create()
    course = CourseFactory.create()
    entry = audit_record(actor=instructor, action=AuditEntry.Action.DATA_EXPORT, course=course)
    instructor.delete()
    course.delete()
    entry.refresh_from_db()
    assert entry.actor_id is not None
    assert entry.course_id is not None


def test_orm_refuses_changes_and_deletes() -> None:
    entry = audit_record(actor=None, action=AuditEntry.Action.MODEL_ROLLBACK)
    entry.details = {"tampered": True}
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="data.erasure")
    with pytest.raises(AppendOnlyError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).details == {}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_database_refuses_raw_update_and_delete() -> None:
    entry = audit_record(actor=None, action=AuditEntry.Action.MODEL_PROMOTE)
    for statement in (
        "UPDATE audit_auditentry SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.filter(pk=entry.pk, action="model.promote").exists()


def test_admin_changes_of_a_registration_are_mirrored() -> None:
    admin = UserFactory.create(username="it-admin", is_staff=True, is_superuser=True)
    registration = LtiRegistration.objects.create(name="Moodle")
    content_type = ContentType.objects.get_for_model(LtiRegistration)
    for flag in (ADDITION, CHANGE):
        LogEntry.objects.log_actions(
            user_id=admin.pk,
            queryset=[registration],
            action_flag=flag,
            change_message="[]",
            single_object=True,
        )
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.REGISTRATION_CHANGE)
    assert [entry.details["admin_action"] for entry in entries.order_by("id")] == ["added", "changed"]
    assert {entry.actor_label for entry in entries} == {"it-admin"}
    assert {entry.target_type for entry in entries} == {f"{content_type.app_label}.{content_type.model}"}


def test_admin_lists_but_never_edits() -> None:
    admin = UserFactory.create(is_staff=True, is_superuser=True)
    entry = audit_record(actor=admin, action=AuditEntry.Action.DATA_ERASURE)
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/audit/auditentry/").status_code == 200
    assert client.get(f"/admin/audit/auditentry/{entry.pk}/change/").status_code == 200
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    response = client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
