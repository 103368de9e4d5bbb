from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from eduai.audit.models import AuditEntry
from eduai.courses.access import course_member_is, course_role, course_staff_is
from eduai.courses.models import ApiToken, Enrollment
from eduai.courses.services import api_token_create, api_token_revoke
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def test_roles_staff_and_members() -> None:
    course, other = CourseFactory.create(), CourseFactory.create()
    ta = EnrollmentFactory.create(course=course, role=Enrollment.Role.TEACHING_ASSISTANT).user
    learner = EnrollmentFactory.create(course=course).user
    site_staff = UserFactory.create(is_staff=True)
    assert course_role(user=ta, course_id=course.pk) == Enrollment.Role.TEACHING_ASSISTANT
    assert course_staff_is(user=ta, course_id=course.pk)
    assert not course_staff_is(user=ta, course_id=other.pk)
    assert not course_staff_is(user=learner, course_id=course.pk)
    assert course_member_is(user=learner, course_id=course.pk)
    assert not course_member_is(user=learner, course_id=other.pk)
    assert course_staff_is(user=site_staff, course_id=other.pk)


def test_a_token_acts_only_in_its_course_and_never_above_its_role() -> None:
    course, other = CourseFactory.create(), CourseFactory.create()
    instructor = EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user
    EnrollmentFactory.create(course=other, user=instructor, role=Enrollment.Role.INSTRUCTOR)
    instructor.is_staff = True
    instructor.save()
    token, key = api_token_create(user=instructor, course=course, role="learner", name="BI export")
    assert key.startswith("eduai_")
    assert token.key_hash != key
    assert key not in str(ApiToken.objects.values_list())  # only the hash is stored

    response = _client(key).get("/api/v1/me/")
    assert response.status_code == 200
    request_user = response.wsgi_request.user
    assert course_role(user=request_user, course_id=course.pk) == Enrollment.Role.LEARNER
    assert not course_staff_is(user=request_user, course_id=course.pk)  # site staff does not apply
    assert course_role(user=request_user, course_id=other.pk) is None
    assert not course_member_is(user=request_user, course_id=other.pk)


def test_bad_expired_and_revoked_tokens_are_refused() -> None:
    course = CourseFactory.create()
    learner = EnrollmentFactory.create(course=course).user
    token, key = api_token_create(
        user=learner, course=course, role="learner", name="x", expires_at=timezone.now() + timedelta(days=1)
    )
    assert _client(key).get("/api/v1/me/").status_code == 200
    assert _client(key + "x").get("/api/v1/me/").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert _client(key).get("/api/v1/me/").status_code == 401
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)
    api_token_revoke(token=token)
    response = _client(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert AuditEntry.objects.filter(target_id=str(token.pk)).count() == 2


def test_tokens_need_the_right_enrolment() -> None:
    course = CourseFactory.create()
    learner = EnrollmentFactory.create(course=course).user
    with pytest.raises(ValidationError, match="instructor or TA"):
        api_token_create(user=learner, course=course, role="instructor", name="x")
    with pytest.raises(ValidationError, match="enrolled"):
        api_token_create(user=UserFactory.create(), course=course, role="learner", name="x")
    with pytest.raises(ValueError, match="not a valid"):
        api_token_create(user=learner, course=course, role="admin", name="x")


def test_the_command_prints_the_key_once(capsys: pytest.CaptureFixture[str]) -> None:
    course = CourseFactory.create()
    EnrollmentFactory.create(course=course, user=UserFactory.create(username="ms-lee"), role="instructor")
    call_command("api_token_create", user="ms-lee", course=course.pk, role="instructor", name="Power BI")
    key = capsys.readouterr().out.split("Key (shown only now): ")[1].split()[0]
    assert _client(key).get("/api/v1/me/").status_code == 200
    with pytest.raises(CommandError, match="No user"):
        call_command("api_token_create", user="nobody", course=course.pk, role="learner", name="x")
    with pytest.raises(CommandError, match="enrolled"):
        call_command(
            "api_token_create", user="ms-lee", course=CourseFactory.create().pk, role="learner", name="x"
        )


def test_admin_lists_and_revokes_but_cannot_add() -> None:
    course = CourseFactory.create()
    learner = EnrollmentFactory.create(course=course).user
    token, _ = api_token_create(user=learner, course=course, role="learner", name="x")
    client = APIClient()
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    assert client.get("/admin/courses/apitoken/").status_code == 200
    assert client.get("/admin/courses/apitoken/add/").status_code == 403
    client.post("/admin/courses/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    token.refresh_from_db()
    assert token.revoked_at is not None
