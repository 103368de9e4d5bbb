"""Schemathesis against the OpenAPI schema at /api/schema/: generated requests to every API
operation, as a staff user and as a learner, must never get a server error.

Derandomised in CI (a fixed set of examples per operation); `FUZZ_EXAMPLES=500 pytest
tests/fuzz/test_api_schema.py` explores new random ones.
"""

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error

from eduai.courses.models import Enrollment
from eduai.courses.services import api_token_create
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db
EXPLORE = os.environ.get("FUZZ_EXAMPLES")


# Loaded at collection: generating the schema reads no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """Django closes the database connection at the end of each request it serves through WSGI;
    in a test that connection holds the test's transaction (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens() -> dict[str, str]:
    """A site-wide staff token, and course-scoped tokens of an instructor and of a learner."""
    course = CourseFactory.create()
    staff = UserFactory.create(username="fuzz-staff", is_staff=True, is_superuser=True)
    learner = EnrollmentFactory.create(course=course, role=Enrollment.Role.LEARNER).user
    instructor = EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user
    return {
        "staff": f"Token {Token.objects.create(user=staff).key}",
        "instructor": "Bearer "
        + api_token_create(user=instructor, course=course, role="instructor", name="f")[1],
        "learner": "Bearer " + api_token_create(user=learner, course=course, role="learner", name="f")[1],
    }


@schema.parametrize()
@settings(
    max_examples=int(EXPLORE or 15),
    derandomize=not EXPLORE,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any, tokens: dict[str, str]) -> None:
    for authorization in tokens.values():
        case.call_and_validate(headers={"Authorization": authorization}, checks=[not_a_server_error])
