import pytest
from rest_framework.test import APIClient

from analytics.models import LearningEvent
from eduai.courses.models import Enrollment
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/analytics/xapi/statements"


def _statement(**overrides):
    statement = {
        "actor": {"account": {"homePage": "https://lms.school.edu", "name": "learner1"}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {
            "id": "https://lms.school.edu/quiz/4",
            "definition": {"type": "http://adlnet.gov/expapi/activities/question"},
        },
        "result": {"score": {"raw": 3, "min": 0, "max": 4}},
        "timestamp": "2026-03-02T09:30:00Z",
    }
    statement.update(overrides)
    return statement


@pytest.fixture
def course_with_learner():
    course = CourseFactory.create()
    learner = UserFactory.create(username="learner1", email="learner1@school.edu")
    EnrollmentFactory.create(course=course, user=learner)
    return course, learner


def _instructor_client(course):
    client = APIClient()
    client.force_login(EnrollmentFactory.create(course=course, role=Enrollment.Role.INSTRUCTOR).user)
    return client


def test_a_batch_keeps_the_valid_statements_and_rejects_the_others_with_reasons(course_with_learner):
    course, learner = course_with_learner
    UserFactory.create(username="outsider")  # exists, but not enrolled in the course
    batch = [
        _statement(),
        _statement(actor={"mbox": "mailto:nobody@school.edu"}),
        _statement(verb={"id": "http://example.com/verbs/danced"}),
        _statement(actor={"mbox": "mailto:learner1@school.edu"}, result={"score": {"scaled": 1.4}}),
        _statement(actor={"account": {"name": "outsider"}}),
        _statement(timestamp="yesterday"),
        "not a statement",
        _statement(
            actor={"mbox": "mailto:LEARNER1@school.edu"},
            verb={"id": "https://eduai/verbs/viewed"},
            result=None,
        ),
    ]
    response = _instructor_client(course).post(f"{URL}?course_id={course.pk}", batch, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["stored"], body["rejected"]) == (2, 6)
    results = body["results"]
    assert [result["stored"] for result in results] == [True, False, False, False, False, False, False, True]
    assert "no user matches the actor's mbox" in results[1]["reason"]
    assert "danced" in results[2]["reason"]
    assert "between 0 and 1" in results[3]["reason"]
    assert "not enrolled" in results[4]["reason"]
    assert "timestamp" in results[5]["reason"]
    assert "statement must be an object" in results[6]["reason"]
    events = LearningEvent.objects.order_by("pk")
    assert [event.pk for event in events] == [results[0]["event_id"], results[7]["event_id"]]
    first, last = events
    assert (first.user, first.verb, first.object_type, first.result_score) == (
        learner,
        "practiced",
        "question",
        0.75,
    )
    assert (last.verb, last.result_score) == ("viewed", None)


def test_a_single_statement_object_is_accepted(course_with_learner):
    course, _ = course_with_learner
    response = _instructor_client(course).post(f"{URL}?course_id={course.pk}", _statement(), format="json")
    assert response.status_code == 200
    assert response.json()["stored"] == 1


def test_staff_may_post_for_any_course(course_with_learner):
    course, _ = course_with_learner
    client = APIClient()
    client.force_login(UserFactory.create(is_staff=True))
    assert client.post(f"{URL}?course_id={course.pk}", [_statement()], format="json").status_code == 200


def test_learners_and_other_courses_instructors_are_refused(course_with_learner):
    course, learner = course_with_learner
    for user in (learner, EnrollmentFactory.create(role=Enrollment.Role.INSTRUCTOR).user):
        client = APIClient()
        client.force_login(user)
        assert client.post(f"{URL}?course_id={course.pk}", [_statement()], format="json").status_code == 403
    assert APIClient().post(f"{URL}?course_id={course.pk}", [_statement()], format="json").status_code == 401
    assert not LearningEvent.objects.exists()


def test_the_course_must_be_named_and_exist(course_with_learner):
    course, _ = course_with_learner
    client = _instructor_client(course)
    assert client.post(URL, [_statement()], format="json").status_code == 400
    assert client.post(f"{URL}?course_id=999999", [_statement()], format="json").status_code == 404
    assert client.post(f"{URL}?course_id={course.pk}", [], format="json").status_code == 400
