"""Reads of the analytics app."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from eduai.courses.models import Enrollment

from .models import KnowledgePoint, LearningEvent, Mastery
from .xapi import Actor, StatementError


def course_analytics_allowed(*, user: AbstractBaseUser | AnonymousUser, course_id: int) -> bool:
    """Staff see every course's analytics; an instructor sees their own courses'."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False):
        return True
    return Enrollment.objects.filter(
        user_id=user.pk, course_id=course_id, role=Enrollment.Role.INSTRUCTOR
    ).exists()


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
