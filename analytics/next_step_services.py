"""Writes of the students' next steps (analytics/next_step.py has the rules and the checks).

``next_step_refresh`` (light, any request or the beat task) chooses the point, the material and
the difficulty; when one of them changed it marks the step pending and enqueues
``tasks.next_step_generate`` on the inference queue, which writes the practice question. A step
whose point, material and difficulty are unchanged keeps its question (the cache).
"""

import logging
from datetime import timedelta

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from eduai.celery import task_send
from eduai.courses.models import Course, Enrollment
from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest
from eduai.operations.stale_work import resend_each
from tutoring.models import Material

from .models import KnowledgePoint, LearningEvent, Mastery, NextStep
from .next_step import (
    MIN_SIMILARITY,
    PointState,
    cloze_from_material,
    difficulty_for,
    excerpt,
    next_point,
    question_from_output,
    solution_from_output,
    text_problems,
)
from .services import event_record

logger = logging.getLogger(__name__)

GENERATION_TIMEOUT = 240
PENDING_RETRY_AFTER = timedelta(minutes=30)
SYSTEM = "You write practice questions for students, using only the given course text."


def _point_states(*, course: Course, user_id: int) -> list[PointState]:
    points = list(KnowledgePoint.objects.filter(course=course).prefetch_related("prerequisites"))
    mastery = dict(
        Mastery.objects.filter(user_id=user_id, knowledge_point__course=course).values_list(
            "knowledge_point_id", "probability"
        )
    )
    return [
        PointState(
            point_id=point.pk,
            name=point.name,
            mastery=mastery.get(point.pk, point.p_init),
            prerequisites=tuple(p.pk for p in point.prerequisites.all()),
        )
        for point in points
    ]


def _material_for(point: KnowledgePoint) -> Material | None:
    """The point's tagged material with text, shortest title first (stable)."""
    return point.materials.exclude(text="").order_by("title", "pk").first()


@transaction.atomic
def next_step_refresh(*, course: Course, user: AbstractBaseUser) -> NextStep:
    """Choose the student's next step; enqueue a new practice question only when it changed."""
    from .tasks import next_step_generate  # tasks import this module

    state = next_point(_point_states(course=course, user_id=int(user.pk)))
    step, _ = NextStep.objects.select_for_update().get_or_create(course=course, user_id=user.pk)
    if state is None:
        step.knowledge_point, step.material, step.mastery, step.difficulty = None, None, None, ""
        step.question, step.solution, step.rejection, step.status = "", "", "", NextStep.Status.NONE
        step.save()
        return step
    point = KnowledgePoint.objects.get(pk=state.point_id)
    material = _material_for(point)
    difficulty = difficulty_for(state.mastery)
    # A pending step whose task was lost (a broker flushed, say) is enqueued again after a while.
    waiting = (
        step.status == NextStep.Status.PENDING and step.updated_at > timezone.now() - PENDING_RETRY_AFTER
    )
    unchanged = (
        step.knowledge_point_id == point.pk
        and step.material_id == (material.pk if material else None)
        and step.difficulty == difficulty
        and (step.status in (NextStep.Status.GENERATED, NextStep.Status.FALLBACK) or waiting)
    )
    step.mastery = state.mastery
    if unchanged:
        step.save(update_fields=["mastery", "updated_at"])
        return step
    step.knowledge_point, step.material, step.difficulty = point, material, difficulty
    step.question, step.solution, step.rejection = "", "", ""
    step.status = NextStep.Status.PENDING
    step.save()
    step_id = step.pk
    # With the broker down the step stays pending and ``next_steps_requeue_stale`` sends it.
    transaction.on_commit(lambda: task_send(next_step_generate, step_id))
    return step


def next_steps_requeue_stale(*, older_than: timedelta) -> list[int]:
    """Send again the next steps still pending ``older_than`` after their last change: their task
    was lost. Generation leaves a step no longer pending alone, so a copy costs nothing."""
    from .tasks import next_step_generate  # tasks import this module

    stale = NextStep.objects.filter(
        status=NextStep.Status.PENDING,
        knowledge_point__isnull=False,
        updated_at__lt=timezone.now() - older_than,
    ).values_list("pk", flat=True)[:500]
    return resend_each(next_step_generate, stale, touch=NextStep)


def _ask(messages: list[dict[str, str]], max_new_tokens: int) -> str:
    request = GenerationRequest(messages=messages, max_new_tokens=max_new_tokens)
    return runtime.generate(request, timeout=GENERATION_TIMEOUT).text


def _generated_practice(*, topic: str, difficulty: str, text: str) -> tuple[str, str]:
    """Two short prompts (the bundled 135M model follows one instruction at a time)."""
    question = question_from_output(
        _ask(
            [
                {"role": "system", "content": SYSTEM},
                {
                    "role": "user",
                    "content": f"Course text: {text}\n\nWrite one {difficulty} question about {topic} "
                    "that the course text answers. Reply with the question only.",
                },
            ],
            60,
        )
    )
    solution = solution_from_output(
        _ask(
            [
                {"role": "system", "content": SYSTEM},
                {
                    "role": "user",
                    "content": f"Course text: {text}\n\nQuestion: {question}\n\n"
                    "Write a short worked solution, step by step, using the course text.",
                },
            ],
            140,
        )
    )
    return question, solution


def _similarity(first: str, second: str) -> float:
    vectors = runtime.embed([first, second], timeout=GENERATION_TIMEOUT)
    norms = np.linalg.norm(vectors, axis=1)
    return float(vectors[0] @ vectors[1] / max(float(norms[0] * norms[1]), 1e-12))


def next_step_generate(*, next_step_id: int) -> NextStep | None:
    """Generate, check and store the step's practice question; fall back to a cloze question
    from the material when the generated one fails a check or the model fails."""
    step = NextStep.objects.select_related("knowledge_point", "material").filter(pk=next_step_id).first()
    if step is None or step.status != NextStep.Status.PENDING or step.knowledge_point is None:
        return step
    point, material = step.knowledge_point, step.material
    if material is None:
        step.status, step.rejection = NextStep.Status.NONE, "no material is tagged with this knowledge point"
        step.save(update_fields=["status", "rejection", "updated_at"])
        return step
    text = excerpt(material.text, point.name)
    problems: list[str]
    try:
        question, solution = _generated_practice(topic=point.name, difficulty=step.difficulty, text=text)
        problems = text_problems(question, solution, text)
        if not problems:
            similarity = _similarity(f"{question} {solution}", text)
            if similarity < MIN_SIMILARITY:
                problems.append(f"it is not close enough to the material (similarity {similarity:.2f})")
    except (TimeoutError, RuntimeError, ValueError) as error:
        logger.warning("next step %s: generation failed: %s", step.pk, error)
        question, solution, problems = "", "", [f"generation failed: {error}"]
    if problems:
        practice = cloze_from_material(material.text, material.title, point.name)
        question, solution = (practice.question, practice.solution) if practice else ("", "")
        status = NextStep.Status.FALLBACK if practice else NextStep.Status.NONE
    else:
        status = NextStep.Status.GENERATED
    updated = NextStep.objects.filter(
        pk=step.pk, status=NextStep.Status.PENDING, knowledge_point=point, difficulty=step.difficulty
    ).update(question=question, solution=solution, status=status, rejection="; ".join(problems))
    if not updated:  # the step changed while the model ran: its own task writes it
        return NextStep.objects.get(pk=step.pk)
    step.refresh_from_db()
    return step


def next_steps_refresh_course(*, course: Course) -> int:
    """Refresh every learner's next step in a course with knowledge points."""
    if not KnowledgePoint.objects.filter(course=course).exists():
        return 0
    enrollments = Enrollment.objects.filter(course=course, role=Enrollment.Role.LEARNER).select_related(
        "user"
    )
    for enrollment in enrollments:
        next_step_refresh(course=course, user=enrollment.user)
    return enrollments.count()


@transaction.atomic
def practice_attempt_record(
    *, course: Course, user: AbstractBaseUser, knowledge_point_id: int, correct: bool
) -> LearningEvent:
    """The student's own check of their answer to the practice question against the worked
    solution: a practice attempt on the step's knowledge point (scored 1 or 0, so mastery moves),
    then the next step is chosen again. An answer to a question the student no longer has (the
    step moved on since the page was shown) is refused, not recorded against another point."""
    step = NextStep.objects.select_for_update().filter(course=course, user_id=user.pk).first()
    if step is None or step.knowledge_point_id is None or not step.question:
        raise ValidationError("You have no practice question to answer yet.")
    if step.knowledge_point_id != knowledge_point_id:
        raise ValidationError("Your practice question has changed: reload the page and try the new one.")
    event = event_record(
        user=user,
        course=course,
        verb=LearningEvent.Verb.PRACTICED,
        object_type="practice_question",
        object_id=str(step.pk),
        timestamp=timezone.now(),
        result_score=1.0 if correct else 0.0,
        knowledge_points=[step.knowledge_point],  # type: ignore[list-item]
    )
    next_step_refresh(course=course, user=user)
    return event


def courses_with_knowledge_points() -> list[int]:
    return sorted(set(KnowledgePoint.objects.values_list("course_id", flat=True)))
