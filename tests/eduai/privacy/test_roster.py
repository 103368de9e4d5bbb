"""The course roster every redaction uses: kept per process, read again after any change."""

import pytest

from analytics.models import LearningEvent
from eduai.courses.models import Enrollment
from eduai.privacy.pseudonyms import pseudonym
from eduai.privacy.redaction import redact
from eduai.privacy.roster import course_people
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

pytestmark = pytest.mark.django_db


def _names(course_id: int) -> set[str]:
    return {person.name for person in course_people(course_id=course_id)}


def test_the_roster_is_kept_until_an_enrollment_or_a_name_changes(django_assert_num_queries):
    course = CourseFactory.create()
    amelia = UserFactory.create(first_name="Amelia", last_name="Okonkwo", email="amelia@school.test")
    EnrollmentFactory.create(course=course, user=amelia)
    assert _names(course.pk) == {"Amelia Okonkwo"}
    with django_assert_num_queries(0):
        assert _names(course.pk) == {"Amelia Okonkwo"}

    jonas = UserFactory.create(first_name="Jonas", last_name="Lindqvist")
    EnrollmentFactory.create(course=course, user=jonas)  # a new classmate
    assert _names(course.pk) == {"Amelia Okonkwo", "Jonas Lindqvist"}

    amelia.last_name = "Okonkwo-Berg"
    amelia.save()
    assert _names(course.pk) == {"Amelia Okonkwo-Berg", "Jonas Lindqvist"}
    amelia.email = "amelia.berg@school.test"
    amelia.save(update_fields=["email"])
    assert {person.email for person in course_people(course_id=course.pk)} >= {"amelia.berg@school.test"}

    amelia.save(update_fields=["last_login"])  # a login changes nothing a roster shows
    with django_assert_num_queries(0):
        course_people(course_id=course.pk)

    Enrollment.objects.filter(user=jonas).delete()
    assert _names(course.pk) == {"Amelia Okonkwo-Berg"}
    jonas_again = EnrollmentFactory.create(course=course, user=jonas)
    jonas_again.user.delete()  # erasure: the enrollment goes with the account
    assert _names(course.pk) == {"Amelia Okonkwo-Berg"}
    assert [p.pseudonym for p in course_people(course_id=course.pk, exclude_user_id=amelia.pk)] == []


def test_a_question_names_a_classmate_enrolled_after_the_roster_was_read():
    course = CourseFactory.create()
    EnrollmentFactory.create(course=course, user=UserFactory.create(first_name="Amelia", last_name="Okonkwo"))
    assert redact("ask Jonas", people=course_people(course_id=course.pk)).text == "ask Jonas"
    jonas = UserFactory.create(first_name="Jonas", last_name="Lindqvist")
    EnrollmentFactory.create(course=course, user=jonas)
    assert redact("ask Jonas", people=course_people(course_id=course.pk)).text == (
        f"ask {pseudonym(user_id=jonas.pk, course_id=course.pk)}"
    )


def test_learning_events_skip_the_constraint_query_only_without_a_score():
    # analytics.services.event_record validates constraints only for a scored event: it relies on
    # this being the one constraint, which holds whenever result_score is None.
    assert [constraint.name for constraint in LearningEvent._meta.constraints] == [
        "event_result_score_in_unit_interval"
    ]
