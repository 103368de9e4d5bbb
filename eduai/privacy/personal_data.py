"""A student's personal data: export (JSON) and erasure, reaching derived data too.

What belongs to a user is found from the models themselves, so a model added later is covered
without changes here: every row of a model with a foreign key to the user model, pointing at
the user, and the rows that hang below those rows (a conversation's messages, a submission's
grades and feedback), followed through reverse one-to-many relations only (never up to shared
rows such as the course). Only CASCADE links make a row the user's: an assignment an
instructor created (`SET_NULL`) stays with the course. Rows keyed by the user's course
pseudonyms instead of the user (any field whose name contains "pseudonym") are found too.
Data kept outside the database (training snapshots, caches) is reached through hooks the
owning code registers.

Text in an export passes through `redact` with the student's classmates and teachers as the
people to hide: the export is the student's own data, not anyone else's.
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.contenttypes.models import ContentType
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.utils import timezone

from eduai.audit.models import AuditEntry
from eduai.audit.services import audit_record

from .pseudonyms import pseudonym
from .redaction import Person, redact
from .roster import course_people, user_course_ids

logger = logging.getLogger(__name__)
EXPORT_FORMAT_VERSION = 1
MAX_DEPTH = 3
# Rows that are about the school, not the person, even though they point at a user.
EXCLUDED_MODELS = frozenset({"audit.auditentry", "admin.logentry", "authtoken.token", "courses.apitoken"})
# Fields never exported (secrets, or internal bookkeeping of no use to the student).
SECRET_FIELDS = frozenset({"password", "key_hash", "session_key", "session_data"})


@dataclass(frozen=True)
class ErasureHook:
    """Code that keeps personal data outside the database registers one of these."""

    name: str
    erase: Callable[[int, frozenset[str]], int]  # (user id, the user's pseudonyms) -> items erased


_hooks: list[ErasureHook] = []


def personal_data_erasure_hook_register(hook: ErasureHook) -> None:
    if all(existing.name != hook.name for existing in _hooks):
        _hooks.append(hook)


def _user_foreign_keys() -> Iterator[tuple[type[models.Model], models.ForeignKey[Any, Any]]]:
    user_model = get_user_model()
    for model in _all_models():
        if model._meta.label_lower in EXCLUDED_MODELS or model is user_model:
            continue
        for field in model._meta.get_fields():
            # Owned rows only: a CASCADE link (an assignment's SET_NULL `created_by` is not
            # the instructor's to take away).
            if (
                isinstance(field, models.ForeignKey)
                and field.related_model is user_model
                and field.remote_field.on_delete is models.CASCADE
            ):
                yield model, field


def _all_models() -> list[type[models.Model]]:
    from django.apps import apps

    return list(apps.get_models())


def _pseudonym_fields() -> Iterator[tuple[type[models.Model], str]]:
    for model in _all_models():
        if model._meta.label_lower in EXCLUDED_MODELS:
            continue
        for field in model._meta.concrete_fields:
            if "pseudonym" in field.name and isinstance(field, models.CharField):
                yield model, field.name


def user_pseudonyms(user_id: int) -> frozenset[str]:
    course_ids = user_course_ids(user_id=user_id)
    return frozenset(pseudonym(user_id=user_id, course_id=course_id) for course_id in course_ids)


def _children(row: models.Model) -> Iterator[models.Model]:
    for relation in row._meta.related_objects:
        related = relation.related_model
        if (
            (relation.one_to_many or relation.one_to_one)
            and relation.on_delete is models.CASCADE
            and isinstance(related, type)
            and related._meta.label_lower not in EXCLUDED_MODELS
        ):
            yield from related._default_manager.filter(**{relation.field.name: row.pk})


def _owned_rows(user_id: int) -> dict[str, dict[Any, models.Model]]:
    """Every row that is the user's, by model label and primary key."""
    found: dict[str, dict[Any, models.Model]] = {}

    def add(row: models.Model, depth: int) -> None:
        rows = found.setdefault(row._meta.label_lower, {})
        if row.pk in rows:
            return
        rows[row.pk] = row
        if depth < MAX_DEPTH:
            for child in _children(row):
                add(child, depth + 1)

    for model, field in _user_foreign_keys():
        for row in model._default_manager.filter(**{field.name: user_id}):
            add(row, 0)
    pseudonyms = user_pseudonyms(user_id)
    if pseudonyms:
        for model, name in _pseudonym_fields():
            for row in model._default_manager.filter(**{f"{name}__in": pseudonyms}):
                add(row, 0)
    return found


def _serialise(row: models.Model, people: list[Person]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for field in row._meta.concrete_fields:
        if field.name in SECRET_FIELDS:
            continue
        value = field.value_from_object(row)
        if isinstance(field, models.FileField):
            value = value.name if value else ""
        elif isinstance(value, str) and isinstance(field, models.TextField):
            value = redact(value, people=people).text
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        elif not isinstance(value, str | int | float | bool | list | dict | type(None)):
            value = str(value)
        data[field.attname if isinstance(field, models.ForeignKey) else field.name] = value
    return data


def _others(user_id: int) -> list[Person]:
    """Everyone who shares a course with the user (their names are hidden in the export)."""
    return [
        person
        for course_id in user_course_ids(user_id=user_id)
        for person in course_people(course_id=course_id, exclude_user_id=user_id)
    ]


def personal_data_export(*, user: AbstractBaseUser, actor: AbstractBaseUser | None = None) -> dict[str, Any]:
    """Everything eduai keeps about the user, as JSON-ready data (and an audit entry)."""
    user_id = int(user.pk)
    people = _others(user_id)
    rows = _owned_rows(user_id)
    account = {
        "id": user_id,
        "username": user.get_username(),
        **{name: getattr(user, name, "") for name in ("first_name", "last_name", "email")},
        "date_joined": getattr(user, "date_joined", timezone.now()).isoformat(),
    }
    export = {
        "format_version": EXPORT_FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "account": account,
        "pseudonyms": sorted(user_pseudonyms(user_id)),
        "data": {
            label: [
                _serialise(row, people) for _, row in sorted(by_pk.items(), key=lambda item: str(item[0]))
            ]
            for label, by_pk in sorted(rows.items())
        },
    }
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DATA_EXPORT,
        details={"user_id": user_id, "rows": sum(len(by_pk) for by_pk in rows.values())},
    )
    return export


@transaction.atomic
def personal_data_erase(*, user: AbstractBaseUser, actor: AbstractBaseUser | None = None) -> dict[str, int]:
    """Delete the user and everything that is theirs; returns counts by kind (audited).

    Uploaded files of the deleted rows are removed from storage after the transaction commits.
    The audit log keeps only that user id N was erased, by whom, and the counts.
    """
    user_id = int(user.pk)
    pseudonyms = user_pseudonyms(user_id)
    rows = _owned_rows(user_id)
    files = [
        getattr(row, field.name).name
        for by_pk in rows.values()
        for row in by_pk.values()
        for field in row._meta.concrete_fields
        if isinstance(field, models.FileField) and getattr(row, field.name)
    ]
    counts = {label: len(by_pk) for label, by_pk in rows.items()}
    # Django's deletion collector follows each row's cascades; rows a cascade already removed
    # match nothing.
    # Hooks first: they may look up the user's rows (ids in files) before these are deleted.
    for hook in _hooks:
        counts[hook.name] = hook.erase(user_id, pseudonyms)
    for by_pk in rows.values():
        model = next(iter(by_pk.values()))._meta.model
        model._default_manager.filter(pk__in=list(by_pk)).delete()
    # The admin's history of changes to the account names it (LogEntry.object_repr); its own
    # changes as staff go with the account (LogEntry.user cascades).
    account = ContentType.objects.get_for_model(get_user_model())
    counts["admin.logentry"], _ = LogEntry.objects.filter(
        content_type=account, object_id=str(user_id)
    ).delete()
    get_user_model().objects.filter(pk=user_id).delete()
    counts["account"] = 1

    def remove_files() -> None:
        for name in files:
            try:
                default_storage.delete(name)
            except OSError:
                logger.exception("could not delete an erased user's file %s", name)

    transaction.on_commit(remove_files)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.DATA_ERASURE,
        details={"user_id": user_id, "counts": counts, "files": len(files)},
    )
    return counts
