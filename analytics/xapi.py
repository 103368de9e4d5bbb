"""The subset of xAPI statements the event log accepts, checked one statement at a time.

    {"actor": {"mbox": "mailto:ada@school.edu"} | {"account": {"homePage": ..., "name": "ada"}},
     "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
     "object": {"id": "https://lms/assignment/7", "definition": {"type": ".../assessment"}},
     "result": {"score": {"scaled": 0.8}} | {"score": {"raw": 8, "min": 0, "max": 10}} | {"success": true},
     "timestamp": "2026-11-25T10:00:00Z"}

The verb's last path segment names one of our verbs, or an ADL verb mapped to one below. A
statement without a timestamp is dated when it arrives.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from .models import LearningEvent

VERB_ALIASES = {
    "launched": LearningEvent.Verb.LAUNCHED,
    "initialized": LearningEvent.Verb.LAUNCHED,
    "asked": LearningEvent.Verb.ASKED,
    "rated": LearningEvent.Verb.RATED,
    "viewed": LearningEvent.Verb.VIEWED,
    "experienced": LearningEvent.Verb.VIEWED,
    "submitted": LearningEvent.Verb.SUBMITTED,
    "completed": LearningEvent.Verb.SUBMITTED,
    "graded": LearningEvent.Verb.GRADED,
    "scored": LearningEvent.Verb.GRADED,
    "practiced": LearningEvent.Verb.PRACTICED,
    "answered": LearningEvent.Verb.PRACTICED,
    "attempted": LearningEvent.Verb.PRACTICED,
}


class StatementError(ValueError):
    """Why a statement was rejected; the message goes back to the caller."""


@dataclass(frozen=True)
class Actor:
    email: str | None
    username: str | None


@dataclass(frozen=True)
class Statement:
    actor: Actor
    verb: str
    object_type: str
    object_id: str
    result_score: float | None
    timestamp: datetime


def _object(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise StatementError(f"{name} must be an object")
    return value


def _last_segment(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1].lower()


def actor_parse(value: Any) -> Actor:
    actor = _object(value, "actor")
    mbox = actor.get("mbox")
    if isinstance(mbox, str) and mbox.startswith("mailto:") and "@" in mbox:
        return Actor(email=mbox.removeprefix("mailto:"), username=None)
    account = actor.get("account")
    if isinstance(account, dict) and isinstance(account.get("name"), str) and account["name"]:
        return Actor(email=None, username=account["name"])
    raise StatementError("actor needs an mbox (mailto:) or an account with a name")


def verb_parse(value: Any) -> str:
    verb_id = _object(value, "verb").get("id")
    if not isinstance(verb_id, str) or not verb_id:
        raise StatementError("verb needs an id")
    verb = VERB_ALIASES.get(_last_segment(verb_id))
    if verb is None:
        raise StatementError(f"verb {verb_id!r} is not one the event log records")
    return verb.value


def object_parse(value: Any) -> tuple[str, str]:
    target = _object(value, "object")
    object_id = target.get("id")
    if not isinstance(object_id, str) or not object_id or len(object_id) > 255:
        raise StatementError("object needs an id of at most 255 characters")
    definition = target.get("definition")
    type_iri = definition.get("type") if isinstance(definition, dict) else None
    object_type = _last_segment(type_iri) if isinstance(type_iri, str) and type_iri else "activity"
    return object_type[:64], object_id


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise StatementError(f"result.score.{name} must be a number")
    return float(value)


def result_parse(value: Any) -> float | None:
    """The scaled score in [0, 1], from scaled, from raw within min..max, or from success."""
    if value is None:
        return None
    result = _object(value, "result")
    score = result.get("score")
    if score is None:
        success = result.get("success")
        return None if success is None else float(success is True)
    score = _object(score, "result.score")
    if "scaled" in score:
        scaled = _number(score["scaled"], "scaled")
    elif "raw" in score and "max" in score:
        low, high = _number(score.get("min", 0), "min"), _number(score["max"], "max")
        if high <= low:
            raise StatementError("result.score.max must be above result.score.min")
        scaled = (_number(score["raw"], "raw") - low) / (high - low)
    else:
        raise StatementError("result.score needs scaled, or raw with max")
    if not 0 <= scaled <= 1:
        raise StatementError("the scaled score must be between 0 and 1")
    return scaled


def timestamp_parse(value: Any) -> datetime:
    if value is None:
        return timezone.now()
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise StatementError("timestamp must be an ISO 8601 date and time with a time zone")
    return parsed


def statement_parse(value: Any) -> Statement:
    statement = _object(value, "statement")
    object_type, object_id = object_parse(statement.get("object"))
    return Statement(
        actor=actor_parse(statement.get("actor")),
        verb=verb_parse(statement.get("verb")),
        object_type=object_type,
        object_id=object_id,
        result_score=result_parse(statement.get("result")),
        timestamp=timestamp_parse(statement.get("timestamp")),
    )
