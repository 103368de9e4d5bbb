"""PostgreSQL briefly unreachable: a clear 503 with Retry-After, nothing half-written, and
service again as soon as it is back; through a real gunicorn, cut off by a TCP proxy."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.db import connection

from analytics.models import LearningEvent
from eduai.courses.models import Enrollment
from eduai.courses.services import api_token_create
from tests.conftest import _worker_environment
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.faults import TcpProxy, gunicorn_process

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def database_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy(
        connection.settings_dict["HOST"] or "127.0.0.1", int(connection.settings_dict["PORT"] or 5432)
    )
    yield proxy
    proxy.close()


@pytest.fixture
def web(database_proxy: TcpProxy, tmp_path: Path) -> Iterator[str]:
    environment = _worker_environment()
    database = connection.settings_dict
    environment["DATABASE_URL"] = (
        f"postgres://{database['USER']}@127.0.0.1:{database_proxy.port}/{database['NAME']}"
    )
    environment["DEBUG"] = "false"
    with gunicorn_process(environment, tmp_path / "gunicorn.log") as url:
        yield url


def _statement(name: str) -> dict[str, Any]:
    return {
        "actor": {"account": {"homePage": "https://lms.school.edu", "name": name}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "https://lms.school.edu/quiz/4"},
        "result": {"score": {"raw": 3, "min": 0, "max": 4}},
        "timestamp": "2026-03-02T09:30:00Z",
    }


def test_database_outage_gives_503_and_loses_nothing(web: str, database_proxy: TcpProxy) -> None:
    course = CourseFactory.create()
    EnrollmentFactory.create(course=course, user=UserFactory.create(username="learner1"))
    instructor = EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user
    _, key = api_token_create(user=instructor, course=course, role="instructor", name="outage test")
    headers = {"Authorization": f"Bearer {key}"}
    statements = f"{web}/api/v1/analytics/xapi/statements?course_id={course.pk}"

    assert requests.get(f"{web}/api/v1/me/", headers=headers, timeout=30).status_code == 200

    database_proxy.cut()
    for _attempt in range(3):  # the first request may find its pooled connection broken
        response = requests.post(statements, json=[_statement("learner1")], headers=headers, timeout=30)
        assert response.status_code == 503, response.text
        assert response.headers["Retry-After"] == "30"
        assert "try again" in response.json()["detail"]
    page = requests.get(f"{web}/admin/", headers={"Cookie": "sessionid=" + "a" * 32}, timeout=30)
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")

    database_proxy.restore()
    assert LearningEvent.objects.count() == 0  # nothing half-written during the outage
    response = requests.post(statements, json=[_statement("learner1")], headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == 1
    assert LearningEvent.objects.count() == 1
