"""The CSV exports (and BI rows): students appear under their course pseudonym, never by name."""

from collections.abc import Callable
from typing import Any

from eduai.courses.models import Course
from eduai.privacy.pseudonyms import pseudonym

from .selectors import at_risk_list, mastery_list, week_metrics_list

Table = tuple[list[str], list[list[Any]]]

WEEK_COLUMNS = [
    "week",
    "starts_at",
    "ends_at",
    "complete",
    "enrolled_students",
    "active_students",
    "participation",
    "planned_items",
    "learning_progress",
    "feedback",
    "feedback_students",
    "answer_rating",
    "grade",
    "tutor_questions",
    "tutor_users",
    "events",
    "flagged",
]


def _optional(value: Any) -> Any:
    return "" if value is None else value


def weeks_table(course: Course) -> Table:
    rows = [
        [_optional(getattr(week, column)) for column in WEEK_COLUMNS]
        + ["; ".join(str(reason.get("metric")) for reason in week.flag_reasons)]
        for week in week_metrics_list(course_id=course.pk)
    ]
    return [*WEEK_COLUMNS, "behind_on"], rows


def mastery_table(course: Course) -> Table:
    rows = [
        [
            pseudonym(user_id=mastery.user_id, course_id=course.pk),
            mastery.knowledge_point.name,
            round(mastery.probability, 4),
            mastery.attempts,
        ]
        for mastery in mastery_list(course_id=course.pk)
    ]
    return ["student", "knowledge_point", "mastery", "attempts"], rows


def at_risk_table(course: Course) -> Table:
    rows = [
        [
            rank,
            pseudonym(user_id=score.user_id, course_id=course.pk),
            round(score.risk, 4),
            score.flagged,
            "; ".join(str(reason.get("feature")) for reason in score.reasons),
            score.method,
            score.scored_at.isoformat(),
        ]
        for rank, score in enumerate(at_risk_list(course_id=course.pk), start=1)
    ]
    return ["rank", "student", "risk", "flagged", "reasons", "method", "scored_at"], rows


EXPORTS: dict[str, Callable[[Course], Table]] = {
    "weeks": weeks_table,
    "mastery": mastery_table,
    "at-risk": at_risk_table,
}
