"""Fixtures of the grading tests: a course with an instructor and a student, and an assignment
with a rubric and a reference answer (small texts written for these tests); the steps over LTI
that the end-to-end tests share (a student submits, the instructor approves in the queue); and,
for the failure tests, a batch of submissions to score again."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from eduai.courses.models import Enrollment
from grading.models import AiGrade, Assignment, Submission
from grading.services import AssignmentData, assignment_create
from tests.conftest import wait_for
from tests.factories import (
    AssignmentFactory,
    CourseFactory,
    EnrollmentFactory,
    SubmissionFactory,
    UserFactory,
)

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


def osmosis_assignment(course):
    """The osmosis short answer of these tests: rubric, one reference answer, 10 points, 2 attempts."""
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


@pytest.fixture
def assignment(course):
    return osmosis_assignment(course)


# --- Grading over LTI, through the real pages and worker -------------------------------------
def student_submits(
    lti_flow, user: str, assignment: Assignment, text: str, **hint: Any
) -> tuple[Client, str, Submission]:
    """The student launches the assignment's resource link (``hint``) and submits ``text`` on the
    student page; returns their client, the page's answer to the submission, and the submission."""
    student = Client()
    page = lti_flow.launch(student, user, **hint).content.decode()
    assert assignment.prompt in page
    assert "Submit your work" in page
    submitted = student.post(
        f"/grading/assignments/{assignment.pk}/submit/", {"text": text}, HTTP_HX_REQUEST="true"
    )
    assert submitted.status_code == 200
    submission = Submission.objects.filter(assignment=assignment, student__lti_users__sub=user).latest("pk")
    return student, submitted.content.decode(), submission


def ai_grade_wait(submission: Submission) -> AiGrade:
    """The real worker scores the submission (inference queue) and writes its feedback."""
    return wait_for(
        lambda: AiGrade.objects.filter(submission=submission).first(), timeout=600, what="the AI grade"
    )


def instructor_approves(teacher: Client, assignment: Assignment, submission: Submission) -> None:
    """The instructor finds the submission in the review queue and approves it (the bulk action,
    as the page posts it), which releases the grade."""
    queue_page = teacher.get(f"/grading/assignments/{assignment.pk}/").content.decode()
    assert "Review queue" in queue_page
    assert f'name="ids" value="{submission.pk}"' in queue_page
    approved = teacher.post(
        f"/grading/assignments/{assignment.pk}/review/",
        {"ids": [str(submission.pk)], "action": "approve"},
        HTTP_HX_REQUEST="true",
    )
    assert approved.status_code == 200, approved.content.decode()


# An AI grade of the osmosis assignment as the scorer writes one: points and feedback per criterion.
AI_CRITERIA = [
    {"name": "Water movement", "score": 3.0, "max_points": 4.0, "met": True, "evidence": "water moves"},
    {"name": "Concentration", "score": 1.0, "max_points": 3.0, "met": False, "evidence": ""},
    {"name": "Membrane", "score": 2.0, "max_points": 3.0, "met": False, "evidence": ""},
]
AI_FEEDBACK = [
    {
        "criterion": criterion["name"],
        "strengths": f"{criterion['name']}: a start.",
        "missing": f"{criterion['name']}: more detail.",
        "next_step": f"{criterion['name']}: say more.",
        "source": "template",
    }
    for criterion in AI_CRITERIA
]


@pytest.fixture
def graded_by_criteria(assignment, student):
    """The student's submission with an AI grade of 6 (3 + 1 + 2) and feedback per criterion."""
    from tests.factories import AiGradeFactory

    return AiGradeFactory.create(
        submission__assignment=assignment,
        submission__student=student,
        submission__text=GOOD_ANSWER,
        score=6,
        confidence=0.4,
        criteria=AI_CRITERIA,
        feedback=AI_FEEDBACK,
    ).submission


# --- Failure tests: a batch to score again (on a worker of the test's own) ------------------------
# Answers that meet no criterion, so each one asks the generator for feedback on every
# criterion: seconds of work per submission, and the batch is still running after its first grade.
WEAK_ANSWERS = [
    "It is when things get bigger.",
    "Plants make sugar from sunlight.",
    "The nucleus controls the cell.",
    "Because of gravity.",
    "I do not know.",
    "Cells eat food.",
]


def failed_batch(count: int = len(WEAK_ANSWERS)) -> tuple[Assignment, list[Submission]]:
    """An assignment whose AI grades are all released at once, and ``count`` submissions whose
    first scoring failed, for ``submissions_rescore`` to send again as one batch."""
    course = CourseFactory.create(title="Biology")
    assignment = AssignmentFactory.create(
        course=course,
        title="Osmosis",
        prompt="Explain osmosis.",
        rubric=RUBRIC,
        reference_answers=[REFERENCE],
        max_score=Decimal(10),
        # Every AI grade is released at once: a second scoring would show as a second release.
        release_policy=Assignment.ReleasePolicy.AUTO,
        auto_release_confidence=0,
    )
    submissions = []
    for index, text in enumerate(WEAK_ANSWERS[:count]):
        student = UserFactory.create(username=f"batch-student-{index}")
        EnrollmentFactory.create(course=course, user=student, role=Enrollment.Role.LEARNER)
        # Their first scoring failed; the instructor sends them again, as one batch.
        submissions.append(
            SubmissionFactory.create(
                assignment=assignment, student=student, text=text, status=Submission.Status.FAILED
            )
        )
    return assignment, submissions
