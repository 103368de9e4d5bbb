"""A course with an instructor, two students and one ingested material (real encoder)."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User

from eduai.courses.models import Course, Enrollment
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tutoring import services
from tutoring.models import Material

PHOTOSYNTHESIS = """# Photosynthesis

## Light reactions
Photosynthesis turns light energy into chemical energy. In the light reactions, chlorophyll in the
thylakoid membranes absorbs light, water is split, and oxygen is released as a by-product.

## The Calvin cycle
In the Calvin cycle, which runs in the stroma of the chloroplast, the enzyme RuBisCO fixes carbon
dioxide into sugars using the ATP and NADPH made by the light reactions.
"""

MITOSIS = """# Cell division

## Mitosis
Mitosis divides one nucleus into two identical nuclei. Its phases are prophase, metaphase,
anaphase and telophase. In metaphase the chromosomes line up at the cell's equator.
"""


@dataclass
class TutorCourse:
    course: Course
    instructor: User
    student: User
    classmate: User
    material: Material


@pytest.fixture
def tutor_course(db, django_capture_on_commit_callbacks) -> TutorCourse:
    course = CourseFactory.create(title="Biology 101")
    instructor = UserFactory.create(first_name="Tea", last_name="Cher")
    student = UserFactory.create(first_name="Amelia", last_name="Okonkwo", email="amelia@school.test")
    classmate = UserFactory.create(first_name="Jonas", last_name="Lindqvist")
    EnrollmentFactory.create(course=course, user=instructor, role=Enrollment.Role.INSTRUCTOR)
    EnrollmentFactory.create(course=course, user=student)
    EnrollmentFactory.create(course=course, user=classmate)
    with django_capture_on_commit_callbacks(execute=False):
        material = services.material_create(
            course=course, user=instructor, title="Photosynthesis", text=PHOTOSYNTHESIS
        )
        other = services.material_create(course=course, user=instructor, title="Cell division", text=MITOSIS)
    services.material_ingest(material_id=material.pk)
    services.material_ingest(material_id=other.pk)
    material.refresh_from_db()
    return TutorCourse(
        course=course, instructor=instructor, student=student, classmate=classmate, material=material
    )
