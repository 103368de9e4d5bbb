import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from eduai.courses.models import Enrollment
from tests.factories import EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_me_requires_authentication():
    response = APIClient().get("/api/v1/me/")
    assert response.status_code in {401, 403}


def test_me_lists_only_the_callers_courses_with_a_session():
    enrollment = EnrollmentFactory.create(role=Enrollment.Role.INSTRUCTOR)
    EnrollmentFactory.create()  # someone else's course
    client = APIClient()
    client.force_login(enrollment.user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": enrollment.user.pk,
        "username": enrollment.user.username,
        "enrollments": [
            {"course_id": enrollment.course.pk, "course_title": enrollment.course.title, "role": "instructor"}
        ],
    }


def test_me_accepts_a_site_wide_token_of_a_staff_account():
    user = UserFactory.create(is_staff=True)
    token = Token.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_a_wrong_token_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/me/").status_code == 401


def test_a_site_wide_token_of_anyone_else_is_refused():
    token = Token.objects.create(user=UserFactory.create())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert "course-scoped" in response.json()["detail"]
