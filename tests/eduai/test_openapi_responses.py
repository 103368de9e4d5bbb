"""The OpenAPI schema declares the refusals the API really answers: a real 429 of the submission
API (``scoring_limit``) and of the tutor (``burst``) has the status, fields and code its operation
declares."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from eduai.courses.models import Enrollment
from grading import services as grading_services
from tests.factories import AssignmentFactory, EnrollmentFactory, TutorSettingsFactory
from tutoring.services import notice_accept

pytestmark = pytest.mark.django_db


def _declared(client: APIClient, path: str, method: str, status: int) -> dict[str, Any]:
    """The schema of one operation's response body with ``status``, its $ref resolved."""
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    responses = schema["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not declare its {status}"
    body = responses[str(status)]["content"]["application/json"]["schema"]
    component: dict[str, Any] = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    for field in component["properties"].values():
        if "$ref" in field:
            field.update(schema["components"]["schemas"][field.pop("$ref").rsplit("/", 1)[1]])
    return component


def _conforms(body: dict[str, Any], declared: dict[str, Any]) -> None:
    assert set(declared["required"]) <= set(body) <= set(declared["properties"])
    code = declared["properties"]["code"]
    assert body["code"] in code["enum"]


def test_the_scoring_limit_429_is_declared(settings, monkeypatch):
    settings.GRADING_SCORING_DAILY_PER_STUDENT = 1
    monkeypatch.setattr(grading_services, "_enqueue_scoring", lambda ids: None)
    assignment = AssignmentFactory.create(max_attempts=0)
    student = EnrollmentFactory.create(course=assignment.course, role=Enrollment.Role.LEARNER).user
    client = APIClient()
    client.force_authenticate(student)
    url = f"/api/v1/grading/assignments/{assignment.pk}/submissions/"
    assert client.post(url, {"text": "Cells divide."}, format="json").status_code == 201
    response = client.post(url, {"text": "Cells divide by mitosis."}, format="json")
    assert response.status_code == 429
    declared = _declared(client, "/api/v1/grading/assignments/{id}/submissions/", "post", 429)
    _conforms(response.json(), declared)
    assert response.json()["code"] == "scoring_limit"


def test_the_tutor_429_is_declared():
    enrollment = EnrollmentFactory.create(role=Enrollment.Role.LEARNER)
    TutorSettingsFactory.create(course=enrollment.course, burst_limit=0)
    notice_accept(user=enrollment.user, course=enrollment.course)
    client = APIClient()
    client.force_authenticate(enrollment.user)
    response = client.post(
        f"/api/v1/tutoring/courses/{enrollment.course.pk}/questions/",
        {"question": "What is a cell?"},
        format="json",
    )
    assert response.status_code == 429
    declared = _declared(client, "/api/v1/tutoring/courses/{course_id}/questions/", "post", 429)
    _conforms(response.json(), declared)
    assert response.json()["code"] == "burst"
