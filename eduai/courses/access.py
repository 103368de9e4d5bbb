"""Who may see what in a course: the one place every app asks.

Roles come from enrolments (kept current by LTI launches and roster syncs). Site staff (the
Django admin's `is_staff`) count as staff of every course, except on a request made with a
course-scoped API token: then the token's course and role are the limit.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from .models import ApiToken, Enrollment

STAFF_ROLES = frozenset({Enrollment.Role.INSTRUCTOR, Enrollment.Role.TEACHING_ASSISTANT})
AnyUser = AbstractBaseUser | AnonymousUser


def token_scope(user: AnyUser) -> ApiToken | None:
    """The course-scoped token this request's user came in with (set by the authentication)."""
    scope: Any = getattr(user, "api_token", None)
    return scope if isinstance(scope, ApiToken) else None


def _enrolled_role(user: AnyUser, course_id: int) -> Enrollment.Role | None:
    """The user's enrolment role in the course, or None (not enrolled, or outside the token's course)."""
    if not user.is_authenticated:
        return None
    token = token_scope(user)
    if token is not None and token.course_id != course_id:
        return None
    value = (
        Enrollment.objects.filter(user_id=user.pk, course_id=course_id).values_list("role", flat=True).first()
    )
    return Enrollment.Role(value) if value is not None else None


def course_role(*, user: AnyUser, course_id: int) -> Enrollment.Role | None:
    """The user's role in the course, or None when not enrolled (or outside the token's scope);
    a learner-role token makes staff act as a learner (it never acts above its role)."""
    role = _enrolled_role(user, course_id)
    token = token_scope(user)
    if role is not None and token is not None and token.role == ApiToken.Role.LEARNER:
        return Enrollment.Role.LEARNER
    return role


def course_staff_is(*, user: AnyUser, course_id: int) -> bool:
    """An instructor or teaching assistant of the course, or site staff."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False) and token_scope(user) is None:
        return True
    return course_role(user=user, course_id=course_id) in STAFF_ROLES


def course_member_is(*, user: AnyUser, course_id: int) -> bool:
    """Enrolled in the course in any role, or site staff (students then see only their own data)."""
    if not user.is_authenticated:
        return False
    if getattr(user, "is_staff", False) and token_scope(user) is None:
        return True
    return course_role(user=user, course_id=course_id) is not None


def course_learner_is(*, user: AnyUser, course_id: int) -> bool:
    """Enrolled as a learner (the student pages: tutor chat, submissions). Staff with a
    learner-role key read as a learner, but are not students: they do not submit or ask."""
    return _enrolled_role(user, course_id) == Enrollment.Role.LEARNER
