"""Fixtures of the fine-tuning tests: an assignment with confirmed grades (short synthetic
answers written for these tests: the score is how many of four ideas an answer states) and a
course with endorsed tutor answers."""

import random
from decimal import Decimal
from typing import Any

import pytest

from eduai.courses.models import Course, Enrollment
from eduai.ml.models import ModelVersion, TrainingRun
from eduai.ml.training.services import training_run_request
from grading.models import Assignment, ConfirmedGrade, Submission
from tests.factories import AssignmentFactory, CourseFactory, EnrollmentFactory, UserFactory

IDEAS = (
    "water moves across the membrane",
    "it goes from low solute concentration to high solute concentration",
    "the membrane is semipermeable so only water passes",
    "it is a kind of passive diffusion that needs no energy",
)
FILLERS = (
    "I think that",
    "In class we learned that",
    "Basically",
    "My answer is that",
    "From the textbook,",
)
WRONG = (
    "cells get bigger when they eat",
    "plants make sugar from sunlight",
    "the nucleus controls the cell",
    "it happens because of gravity",
)


def answer_for(score: int, rng: random.Random) -> str:
    ideas = rng.sample(IDEAS, score)
    wrong = rng.sample(WRONG, rng.randint(0, 2) if score < 4 else 0)
    parts = ideas + wrong
    rng.shuffle(parts)
    return f"{rng.choice(FILLERS)} {', and '.join(parts) or 'I do not know'}."


def graded_assignment(count: int, *, seed: int = 7, name_in_answers: bool = True) -> Assignment:
    """An assignment (0..4 points) with ``count`` confirmed grades; some answers name the student."""
    rng = random.Random(seed)  # noqa: S311 (reproducible test data)
    course = CourseFactory.create(title="Biology")
    assignment = AssignmentFactory.create(
        course=course,
        title="Osmosis",
        prompt="Explain osmosis.",
        reference_answers=[
            "Osmosis is the passive diffusion of water across a semipermeable membrane "
            "from low solute concentration to high solute concentration."
        ],
        rubric=[],
        min_score=Decimal(0),
        max_score=Decimal(4),
    )
    for index in range(count):
        student = UserFactory.create(
            username=f"s{seed}-{index}",
            first_name="Marguerite",
            last_name=f"Okonkwo{index}",
            email=f"marguerite{index}@school.test",
        )
        EnrollmentFactory.create(course=course, user=student, role=Enrollment.Role.LEARNER)
        score = rng.randint(0, 4)
        text = answer_for(score, rng)
        if name_in_answers and index % 5 == 0:
            text = f"Marguerite Okonkwo{index} (marguerite{index}@school.test): {text}"
        submission = Submission.objects.create(
            assignment=assignment, student=student, text=text, status=Submission.Status.SCORED
        )
        ConfirmedGrade.objects.create(
            submission=submission, score=Decimal(score), decision=ConfirmedGrade.Decision.OVERRIDDEN
        )
    return assignment


@pytest.fixture
def training_dir(settings, tmp_path):
    settings.EDUAI_TRAINING_DIR = tmp_path / "training"
    return settings.EDUAI_TRAINING_DIR


TUTOR_PAIRS = (
    ("What is osmosis?", "Osmosis is the movement of water across a semipermeable membrane."),
    ("What does a semipermeable membrane do?", "It lets water through but holds back most solutes."),
    ("Which way does water move in osmosis?", "From low solute concentration to high solute concentration."),
    ("Does osmosis need energy?", "No. Osmosis is passive: it needs no energy from the cell."),
    ("What is diffusion?", "Diffusion is the spreading of particles from high to low concentration."),
    ("What happens to a cell in salty water?", "Water leaves the cell by osmosis, so the cell shrinks."),
    ("What happens to a cell in pure water?", "Water enters the cell by osmosis, so the cell swells."),
    ("What is a solute?", "A solute is the substance dissolved in a solvent, such as salt in water."),
    ("What is a solvent?", "A solvent is the liquid that dissolves the solute, usually water."),
    ("Why do plant cells not burst?", "Their cell wall resists the pressure of the water that enters."),
    ("What is turgor pressure?", "The pressure of water inside a plant cell pushing on its cell wall."),
    ("What is active transport?", "Moving particles against their concentration gradient, using energy."),
)


def tutor_course(*, pairs: int, ratings: int = 0) -> Course:
    """A course with ``pairs`` endorsed answers (one question names a student and a phone
    number, which must not reach the snapshot) and ``ratings`` rated tutor answers."""
    from tutoring.models import Conversation, FaqEntry, Message

    course = CourseFactory.create(title="Biology")
    student = UserFactory.create(username=f"tutee-{course.pk}", first_name="Adaeze", last_name="Okonkwo")
    EnrollmentFactory.create(course=course, user=student, role=Enrollment.Role.LEARNER)
    for index in range(pairs):
        question, answer = TUTOR_PAIRS[index % len(TUTOR_PAIRS)]
        if index == 0:
            question = f"Adaeze Okonkwo here (555-123-4567): {question}"
        FaqEntry.objects.create(course=course, question=question, answer=answer, corrected=index % 3 == 0)
    conversation = Conversation.objects.create(course=course, student=student)
    for index in range(ratings):
        asked = Message.objects.create(
            conversation=conversation, role="student", text="Okonkwo asks: what is osmosis?"
        )
        Message.objects.create(
            conversation=conversation,
            role="tutor",
            text="Water crossing a membrane.",
            reply_to=asked,
            rating=0.5 + 0.25 * (index % 3),
        )
    return course


def queued(**kwargs: Any) -> TrainingRun:
    """``training_run_request`` when the test expects a run back."""
    run = training_run_request(**kwargs)
    assert run is not None
    return run


def version_of(run: TrainingRun) -> ModelVersion:
    assert run.model_version is not None
    return run.model_version
