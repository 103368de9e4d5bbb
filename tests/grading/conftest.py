"""Fixtures of the grading tests: a course with an instructor and a student, and an assignment
with a rubric and a reference answer (small texts written for these tests)."""

from decimal import Decimal

import pytest

from eduai.courses.models import Enrollment
from grading.services import AssignmentData, assignment_create
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory

REFERENCE = (
    "Osmosis is the diffusion of water molecules across a semipermeable membrane from a region of "
    "low solute concentration to a region of high solute concentration."
)
RUBRIC = [
    {"name": "Water movement", "points": 4, "description": "Says that water moves across a membrane."},
    {
        "name": "Concentration",
        "points": 3,
        "description": "Names the direction: low to high solute concentration.",
    },
    {"name": "Membrane", "points": 3, "description": "Says the membrane is semipermeable."},
]
GOOD_ANSWER = (
    "Osmosis is when water moves through a semipermeable membrane from where there is little solute "
    "to where there is a lot of solute."
)
WEAK_ANSWER = "It is when things get bigger."


@pytest.fixture
def course():
    return CourseFactory.create(title="Biology 101")


@pytest.fixture
def instructor(course):
    user = UserFactory.create(username="teacher", first_name="Tea", last_name="Cher")
    EnrollmentFactory.create(course=course, user=user, role=Enrollment.Role.INSTRUCTOR)
    return user


@pytest.fixture
def student(course):
    user = UserFactory.create(
        username="student", first_name="Stuart", last_name="Dentley", email="stuart@school.test"
    )
    EnrollmentFactory.create(course=course, user=user, role=Enrollment.Role.LEARNER)
    return user


@pytest.fixture
def assignment(course):
    return assignment_create(
        course=course,
        data=AssignmentData(
            title="Osmosis",
            prompt="Explain osmosis.",
            rubric=RUBRIC,
            reference_answers=[REFERENCE],
            max_score=Decimal(10),
            max_attempts=2,
        ),
    )
