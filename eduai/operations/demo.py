"""A demo school for trials: one course with material, an assignment with submissions, a demo
LMS registration and an admin account. Safe to run again: it reuses what it made before.

The assignment and its submissions are made by the grading services, as an instructor's and
students' would be: each submission is queued for AI scoring when the seed commits, so the worker
that ``make run`` starts grades them and the demo's review queue fills."""

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from lti_tool.models import LtiDeployment, LtiRegistration

from eduai.courses.models import Course, Enrollment
from grading.models import Assignment, Submission
from grading.services import AssignmentData, assignment_create, submission_create, submissions_rescore
from tutoring.models import Material

DEMO_ISSUER = "https://moodle.demo.invalid"

PHOTOSYNTHESIS = """# Photosynthesis

Photosynthesis is the process by which green plants use light energy to turn carbon dioxide
and water into glucose and oxygen. It takes place in the chloroplasts, whose green pigment,
chlorophyll, absorbs mostly red and blue light.

## Light-dependent reactions

In the thylakoid membranes, light splits water molecules. This releases oxygen and produces
ATP and NADPH, which carry energy to the next stage.

## The Calvin cycle

In the stroma, the enzyme RuBisCO fixes carbon dioxide. Using ATP and NADPH, the cycle builds
three-carbon sugars that the plant turns into glucose.
"""

DEMO_ANSWERS = {
    "ada": "Plants use light to make glucose from carbon dioxide and water, releasing oxygen.",
    "ben": "Photosynthesis happens in the chloroplasts. Chlorophyll absorbs light, water is split "
    "and oxygen is released, then the Calvin cycle fixes CO2 into sugar.",
    "cleo": "Plants eat soil to grow.",
}

DEMO_ASSIGNMENT = AssignmentData(
    title="Explain photosynthesis",
    kind=Assignment.Kind.SHORT_ANSWER,
    prompt="In two or three sentences, explain what photosynthesis does and where it happens.",
    rubric=(
        {
            "name": "Inputs and outputs",
            "points": 4,
            "description": "Carbon dioxide and water in; glucose and oxygen out.",
        },
        {"name": "Location in the cell", "points": 3, "description": "Happens in the chloroplasts."},
        {
            "name": "Role of light",
            "points": 3,
            "description": "Light energy, absorbed by chlorophyll, drives it.",
        },
    ),
    reference_answers=(
        "Plants use light energy, absorbed by chlorophyll in the chloroplasts, to turn carbon "
        "dioxide and water into glucose and oxygen.",
    ),
    max_score=Decimal(10),
)


@dataclass(frozen=True)
class DemoSeed:
    course: Course
    admin_username: str
    admin_password: str


def _demo_registration() -> LtiRegistration:
    registration, _ = LtiRegistration.objects.get_or_create(
        issuer=DEMO_ISSUER,
        client_id="eduai-demo",
        defaults={
            "name": "Demo Moodle (example, not a real site)",
            "auth_url": f"{DEMO_ISSUER}/mod/lti/auth.php",
            "token_url": f"{DEMO_ISSUER}/mod/lti/token.php",
            "keyset_url": f"{DEMO_ISSUER}/mod/lti/certs.php",
            "is_active": False,
        },
    )
    LtiDeployment.objects.get_or_create(registration=registration, deployment_id="1")
    return registration


def _demo_course() -> Course:
    course, _ = Course.objects.get_or_create(
        label="BIO101", defaults={"title": "Introductory Biology (demo)"}
    )
    Material.objects.get_or_create(
        course=course,
        title="Photosynthesis",
        defaults={"kind": Material.Kind.MARKDOWN, "text": PHOTOSYNTHESIS},
    )
    assignment = Assignment.objects.filter(course=course, title=DEMO_ASSIGNMENT.title).first()
    if assignment is None:
        assignment = assignment_create(course=course, data=DEMO_ASSIGNMENT)
    _demo_submissions(assignment)
    return course


def _demo_submissions(assignment: Assignment) -> None:
    """Each demo student's answer, submitted as a student's would be (queued for AI scoring).

    Run again: answers still waiting for (or failed at) their AI grade are sent to scoring again
    (the instructor page's "Grade these again"); an answer an older seed stored without queueing
    it (status "received", never scored) is submitted afresh.
    """
    submissions_rescore(assignment=assignment)
    user_model = get_user_model()
    for username, answer in DEMO_ANSWERS.items():
        student, _ = user_model.objects.get_or_create(username=f"demo-{username}")
        Enrollment.objects.get_or_create(course=assignment.course, user=student)
        mine = Submission.objects.filter(assignment=assignment, student=student)
        mine.filter(status=Submission.Status.RECEIVED, ai_grade__isnull=True, file="").delete()
        if not mine.exists():
            submission_create(assignment=assignment, student=student, text=answer)


def _demo_admin(username: str) -> str:
    """Create or reset the demo admin; returns its new password (printed once, never stored)."""
    admin, _ = get_user_model().objects.get_or_create(username=username)
    password = secrets.token_urlsafe(12)
    admin.set_password(password)
    admin.is_staff = True
    admin.is_superuser = True
    admin.save()
    return password


@transaction.atomic
def demo_seed(*, admin_username: str = "admin") -> DemoSeed:
    _demo_registration()
    course = _demo_course()
    password = _demo_admin(admin_username)
    return DemoSeed(course=course, admin_username=admin_username, admin_password=password)
