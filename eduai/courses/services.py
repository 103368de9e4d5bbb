"""Writes of the courses package: course-scoped API tokens."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from eduai.audit.models import AuditEntry
from eduai.audit.services import audit_record

from .access import course_staff_is
from .authentication import api_token_key_hash, api_token_key_new
from .models import ApiToken, Course, Enrollment


@transaction.atomic
def api_token_create(
    *,
    user: AbstractBaseUser,
    course: Course,
    role: str,
    name: str,
    expires_at: datetime | None = None,
    created_by: AbstractBaseUser | None = None,
) -> tuple[ApiToken, str]:
    """A new token and its key (shown once; only its hash is kept).

    An instructor token needs the user to be staff of the course; a learner token, enrolled.
    """
    role = ApiToken.Role(role)
    if role == ApiToken.Role.INSTRUCTOR and not course_staff_is(user=user, course_id=course.pk):
        raise ValidationError("An instructor token needs an instructor or TA of the course.")
    if (
        role == ApiToken.Role.LEARNER
        and not Enrollment.objects.filter(user_id=user.pk, course=course).exists()
    ):
        raise ValidationError("A learner token needs a user enrolled in the course.")
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError("The expiry date must be in the future.")
    key = api_token_key_new()
    token = ApiToken(
        name=name,
        user_id=user.pk,
        course=course,
        role=role,
        key_hash=api_token_key_hash(key),
        key_prefix=key[:12],
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    audit_record(
        actor=created_by,
        action=AuditEntry.Action.SETTINGS_CHANGE,
        target=token,
        course=course,
        details={"api_token": "created", "role": role, "user_id": user.pk},
    )
    return token, key


def api_token_revoke(*, token: ApiToken, revoked_by: AbstractBaseUser | None = None) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    audit_record(
        actor=revoked_by,
        action=AuditEntry.Action.SETTINGS_CHANGE,
        target=token,
        course=token.course,
        details={"api_token": "revoked"},
    )
