"""Writes of the analytics app: the learning event log, knowledge points and mastery."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from eduai.courses.models import Course
from eduai.privacy.pseudonyms import pseudonym
from grading.models import Assignment
from tutoring.models import Material

from .knowledge_tracing import BktParameters, fit, knowledge_update
from .models import KnowledgePoint, LearningEvent, Mastery
from .selectors import actor_user, courses_with_scored_events, scored_responses
from .xapi import StatementError, statement_parse


@transaction.atomic
def event_record(
    *,
    user: AbstractBaseUser,
    course: Course,
    verb: str,
    object_type: str,
    object_id: str,
    timestamp: datetime,
    result_score: float | None = None,
    knowledge_points: Iterable[KnowledgePoint] = (),
) -> LearningEvent:
    """Log one learning event; a scored event also updates the student's mastery of its points."""
    points = list(knowledge_points)
    if any(point.course_id != course.pk for point in points):
        raise ValidationError("knowledge points must belong to the event's course")
    event = LearningEvent(
        user_id=user.pk,
        actor_pseudonym=pseudonym(user_id=int(user.pk), course_id=course.pk),
        course=course,
        verb=verb,
        object_type=object_type,
        object_id=object_id,
        result_score=result_score,
        timestamp=timestamp,
    )
    # The user and course are rows already (their existence checks were two queries per event,
    # and every launch, submission and tutor question records one: bench/lti_launch_profile.py).
    # Its one constraint bounds result_score, and holds when there is none: its check is a
    # query in a savepoint (three statements), for the launches, submissions and questions.
    event.full_clean(exclude=["user", "course"], validate_constraints=result_score is not None)
    event.save()
    if points:  # a new event has none to replace
        event.knowledge_points.add(*points)
    if result_score is not None:
        for point in points:
            mastery_update(user_id=int(user.pk), knowledge_point=point, score=result_score)
    return event


def _parameters(point: KnowledgePoint) -> BktParameters:
    return BktParameters(
        p_init=point.p_init,
        p_learn=point.p_learn,
        p_forget=point.p_forget,
        p_guess=point.p_guess,
        p_slip=point.p_slip,
    )


@transaction.atomic
def mastery_update(*, user_id: int, knowledge_point: KnowledgePoint, score: float) -> Mastery:
    """One BKT step for a scored response; the row lock keeps concurrent events from losing one."""
    mastery, _ = Mastery.objects.select_for_update().get_or_create(
        user_id=user_id, knowledge_point=knowledge_point, defaults={"probability": knowledge_point.p_init}
    )
    mastery.probability = knowledge_update(mastery.probability, score, _parameters(knowledge_point))
    mastery.attempts += 1
    mastery.save(update_fields=["probability", "attempts", "updated_at"])
    return mastery


@transaction.atomic
def knowledge_point_create(
    *, course: Course, name: str, prerequisites: Iterable[KnowledgePoint] = ()
) -> KnowledgePoint:
    point = KnowledgePoint(course=course, name=name)
    point.full_clean()
    point.save()
    required = list(prerequisites)
    if any(other.course_id != course.pk for other in required):
        raise ValidationError("prerequisites must belong to the same course")
    point.prerequisites.set(required)
    return point


def knowledge_point_tag(
    *,
    knowledge_point: KnowledgePoint,
    assignments: Iterable[Assignment] = (),
    materials: Iterable[Material] = (),
) -> None:
    """Tag assignments and materials of the knowledge point's own course with it."""
    assignment_list, material_list = list(assignments), list(materials)
    items: list[Assignment | Material] = [*assignment_list, *material_list]
    if any(item.course_id != knowledge_point.course_id for item in items):
        raise ValidationError("only items of the knowledge point's course can be tagged with it")
    knowledge_point.assignments.add(*assignment_list)
    knowledge_point.materials.add(*material_list)


@dataclass(frozen=True)
class StatementOutcome:
    index: int
    stored: bool
    event_id: int | None = None
    reason: str = ""


def _statement_record(*, course: Course, value: Any) -> LearningEvent:
    statement = statement_parse(value)
    user = actor_user(actor=statement.actor, course_id=course.pk)
    return event_record(
        user=user,
        course=course,
        verb=statement.verb,
        object_type=statement.object_type,
        object_id=statement.object_id,
        result_score=statement.result_score,
        timestamp=statement.timestamp,
    )


def xapi_statements_record(*, course: Course, statements: list[Any]) -> list[StatementOutcome]:
    """Record each valid statement (each in its own transaction); reject the others with a reason."""
    outcomes = []
    for index, value in enumerate(statements):
        try:
            event = _statement_record(course=course, value=value)
        except (StatementError, ValidationError) as error:
            reason = "; ".join(error.messages) if isinstance(error, ValidationError) else str(error)
            outcomes.append(StatementOutcome(index=index, stored=False, reason=reason))
        else:
            outcomes.append(StatementOutcome(index=index, stored=True, event_id=event.pk))
    return outcomes


def _sequences_by_student_and_point(
    responses: list[tuple[int, int, float]],
) -> dict[tuple[int, int], list[float]]:
    sequences: dict[tuple[int, int], list[float]] = {}
    for user, point, score in responses:
        sequences.setdefault((user, point), []).append(score)
    return sequences


@transaction.atomic
def knowledge_point_parameters_fit(*, course: Course) -> int:
    """Fit the BKT parameters of the course's knowledge points on its scored events, then replay
    every student's mastery with them. Points without responses keep their parameters. Returns
    the number of knowledge points fitted."""
    sequences = _sequences_by_student_and_point(scored_responses(course_id=course.pk))
    points = {point.pk: point for point in KnowledgePoint.objects.select_for_update().filter(course=course)}
    fitted_ids = sorted({point_id for _, point_id in sequences})
    if not fitted_ids:
        return 0
    row_of = {point_id: row for row, point_id in enumerate(fitted_ids)}
    parameters = fit(
        [np.array(scores) for scores in sequences.values()],
        [row_of[point_id] for _, point_id in sequences],
        skill_count=len(fitted_ids),
        forgetting=True,
    )
    for point_id, row in row_of.items():
        point, values = points[point_id], parameters.row(row)
        point.p_init, point.p_learn, point.p_forget = values.p_init, values.p_learn, values.p_forget
        point.p_guess, point.p_slip = values.p_guess, values.p_slip
        point.save(update_fields=["p_init", "p_learn", "p_forget", "p_guess", "p_slip"])
    for (user_id, point_id), scores in sequences.items():
        _mastery_replay(user_id=user_id, knowledge_point=points[point_id], scores=scores)
    return len(fitted_ids)


def _mastery_replay(*, user_id: int, knowledge_point: KnowledgePoint, scores: list[float]) -> None:
    probability = knowledge_point.p_init
    for score in scores:
        probability = knowledge_update(probability, score, _parameters(knowledge_point))
    Mastery.objects.update_or_create(
        user_id=user_id,
        knowledge_point=knowledge_point,
        defaults={"probability": probability, "attempts": len(scores)},
    )


def knowledge_point_fit_enqueue_all() -> list[int]:
    """Enqueue a refit for every course with scored, tagged events."""
    from .tasks import knowledge_points_fit_course  # tasks import this module

    course_ids = courses_with_scored_events()
    for course_id in course_ids:
        knowledge_points_fit_course.delay(course_id)
    return course_ids
