"""Writes of the audit log: `audit_record` is the only way an entry is made."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from eduai.courses.models import Course

from .models import AuditEntry


def audit_record(
    *,
    actor: AbstractBaseUser | AnonymousUser | None,
    action: AuditEntry.Action | str,
    target: models.Model | None = None,
    course: Course | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry. `actor` None (or anonymous) is the system itself, e.g. a beat task."""
    AuditEntry.Action(action)  # an unknown action is a programming error: raise ValueError
    known = actor is not None and actor.is_authenticated
    entry = AuditEntry(
        actor_id=actor.pk if known and actor is not None else None,
        actor_label=actor.get_username() if known and actor is not None else "system",
        action=action,
        course_id=course.pk if course is not None else None,
        course_label=str(course)[:255] if course is not None else "",
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:255] if target is not None else "",
        details=details or {},
    )
    entry.full_clean()
    entry.save()
    return entry
