"""Reads of the analytics app."""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from eduai.courses.models import Enrollment

from .models import AtRiskScore, CourseWeekMetrics, KnowledgePoint, LearningEvent, Mastery, NextStep
from .xapi import Actor, StatementError


def learning_event_list(*, course_id: int) -> QuerySet[LearningEvent]:
    return LearningEvent.objects.filter(course_id=course_id).order_by("timestamp", "pk")


def knowledge_point_list(*, course_id: int) -> QuerySet[KnowledgePoint]:
    return KnowledgePoint.objects.filter(course_id=course_id).order_by("name")


def mastery_list(*, course_id: int, user_id: int | None = None) -> QuerySet[Mastery]:
    masteries = Mastery.objects.filter(knowledge_point__course_id=course_id).select_related("knowledge_point")
    if user_id is not None:
        masteries = masteries.filter(user_id=user_id)
    return masteries.order_by("user_id", "knowledge_point__name")


def actor_user(*, actor: Actor, course_id: int) -> AbstractBaseUser:
    """The existing user an xAPI actor names, who must be enrolled in the course."""
    users = get_user_model().objects.all()
    if actor.email is not None:
        matches = list(users.filter(email__iexact=actor.email)[:2])
        described = "the actor's mbox"
    else:
        matches = list(users.filter(username=actor.username)[:2])
        described = "the actor's account name"
    if not matches:
        raise StatementError(f"no user matches {described}")
    if len(matches) > 1:
        raise StatementError(f"{described} matches more than one user")
    if not Enrollment.objects.filter(user_id=matches[0].pk, course_id=course_id).exists():
        raise StatementError("the actor is not enrolled in this course")
    return matches[0]


def scored_responses(*, course_id: int) -> list[tuple[int, int, float]]:
    """(user id, knowledge point id, score) of every scored event of the course, oldest first."""
    rows = (
        LearningEvent.knowledge_points.through.objects.filter(
            learningevent__course_id=course_id, learningevent__result_score__isnull=False
        )
        .order_by("learningevent__timestamp", "learningevent_id")
        .values_list("learningevent__user_id", "knowledgepoint_id", "learningevent__result_score")
    )
    return [(user, point, score) for user, point, score in rows if score is not None]


def courses_with_scored_events() -> list[int]:
    """Ids of the courses that have scored events tagged with knowledge points."""
    through = LearningEvent.knowledge_points.through.objects
    scored = through.filter(learningevent__result_score__isnull=False)
    return sorted(set(scored.values_list("learningevent__course_id", flat=True)))


def week_metrics_list(*, course_id: int) -> QuerySet[CourseWeekMetrics]:
    return CourseWeekMetrics.objects.filter(course_id=course_id).order_by("week")


def knowledge_point_metrics_list(*, course_id: int) -> QuerySet[KnowledgePoint]:
    """The course's knowledge points with their metrics (``metrics`` may be missing)."""
    return KnowledgePoint.objects.filter(course_id=course_id).select_related("metrics").order_by("name")


def at_risk_list(*, course_id: int) -> QuerySet[AtRiskScore]:
    """The course's students, riskiest first (the instructor's ranked list)."""
    return AtRiskScore.objects.filter(course_id=course_id).select_related("user").order_by("-risk", "user_id")


def next_step_get(*, course_id: int, user_id: int) -> NextStep | None:
    return (
        NextStep.objects.filter(course_id=course_id, user_id=user_id)
        .select_related("knowledge_point", "material")
        .first()
    )


@dataclass(frozen=True)
class MasteryGrid:
    """Students (rows) by knowledge points (columns); None where a student has no estimate."""

    points: list[KnowledgePoint]
    students: list[tuple[int, str]]  # (user id, display name)
    values: list[list[float | None]]


def display_name(user: AbstractBaseUser) -> str:
    full = " ".join(
        part for part in (getattr(user, "first_name", ""), getattr(user, "last_name", "")) if part
    )
    return full or str(user.get_username())


def mastery_grid(*, course_id: int) -> MasteryGrid:
    points = list(knowledge_point_list(course_id=course_id))
    learners = (
        Enrollment.objects.filter(course_id=course_id, role=Enrollment.Role.LEARNER)
        .select_related("user")
        .order_by("user__last_name", "user__first_name", "user__username")
    )
    students = [(enrollment.user_id, display_name(enrollment.user)) for enrollment in learners]
    column = {point.pk: index for index, point in enumerate(points)}
    row = {user_id: index for index, (user_id, _) in enumerate(students)}
    values: list[list[float | None]] = [[None] * len(points) for _ in students]
    for user_id, point_id, probability in mastery_list(course_id=course_id).values_list(
        "user_id", "knowledge_point_id", "probability"
    ):
        if user_id in row:
            values[row[user_id]][column[point_id]] = probability
    return MasteryGrid(points=points, students=students, values=values)
