"""Where training data comes from: a small registry of data sources, one per kind.

A source turns a scope into rows (plain dicts with a stable ``id``). The apps own their data,
so they may register their own source (``training_source_register``) from their
``AppConfig.ready``; the two built in here read the current grading and tutoring models and are
written defensively: while an app's models are missing they yield nothing.

Every row's student text is redacted here (``eduai.privacy.redact`` with the course roster) and
students appear only as course pseudonyms, before a row reaches a snapshot file.
"""

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps

from eduai.privacy.pseudonyms import pseudonym
from eduai.privacy.redaction import Person, redact
from eduai.privacy.roster import course_people

Row = dict[str, Any]

GRADING = "grading"
TUTOR = "tutor"
# Which source trains which model task (eduai.ml.models.ModelVersion.Task values).
KIND_OF_TASK = {"grading_scorer": GRADING, "generation": TUTOR}


class TrainingDataError(Exception):
    """A scope a source cannot read (bad scope string, unknown kind)."""


@dataclass
class SourceRows:
    rows: list[Row]
    redactions: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class DataSource:
    """``rows(scope)`` reads every row of a scope; ``count(scope)`` cheaply counts them (the
    threshold trigger); ``scopes()`` lists the scopes that have data (the nightly run)."""

    rows: Callable[[str], SourceRows]
    count: Callable[[str], int]
    scopes: Callable[[], list[str]]


_SOURCES: dict[str, DataSource] = {}


def training_source_register(*, kind: str, source: DataSource) -> None:
    """Register (or replace) the source of ``kind``; apps call this from ``AppConfig.ready``."""
    _SOURCES[kind] = source


def training_source(kind: str) -> DataSource:
    try:
        return _SOURCES[kind]
    except KeyError:
        raise TrainingDataError(f"No training data source for {kind!r}; known: {sorted(_SOURCES)}.") from None


def kind_for_task(task: str) -> str:
    try:
        return KIND_OF_TASK[task]
    except KeyError:
        raise TrainingDataError(
            f"Task {task!r} has no training data; trainable: {sorted(KIND_OF_TASK)}."
        ) from None


def _model(label: str) -> Any:
    """An app's model class, or None while that app does not define it yet."""
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _scope_id(scope: str, prefix: str) -> int:
    name, _, number = scope.partition(":")
    if name != prefix or not number.isdigit():
        raise TrainingDataError(f'Scope {scope!r} is not of the form "{prefix}:<id>".')
    return int(number)


def _roster(course_id: int) -> list[Person]:
    return course_people(course_id=course_id)


def _clean(text: str, people: list[Person], counter: Counter[str]) -> str:
    result = redact(text or "", people=people)
    counter.update(result.found)
    return result.text


# --- grading: instructor-confirmed grades, per assignment ("assignment:<id>") ---------------
def _confirmed_grades(scope: str) -> Any:
    confirmed = _model("grading.ConfirmedGrade")
    if confirmed is None:
        return None
    return confirmed.objects.filter(submission__assignment_id=_scope_id(scope, "assignment"))


def grading_rows(scope: str) -> SourceRows:
    grades = _confirmed_grades(scope)
    if grades is None:
        return SourceRows(rows=[])
    assignment = _model("grading.Assignment").objects.get(pk=_scope_id(scope, "assignment"))
    people = _roster(assignment.course_id)
    counter: Counter[str] = Counter()
    rows = []
    for grade in grades.select_related("submission").order_by("pk"):
        submission = grade.submission
        rows.append(
            {
                "id": f"confirmed-grade:{grade.pk}",
                "prompt_id": f"assignment-{assignment.pk}",
                "question": assignment.prompt,
                "reference_answers": list(assignment.reference_answers),
                "rubric": list(assignment.rubric),
                "min_score": float(assignment.min_score),
                "max_score": float(assignment.max_score),
                "answer": _clean(submission.text, people, counter),
                "score": float(grade.score),
                "student": pseudonym(user_id=submission.student_id, course_id=assignment.course_id),
            }
        )
    return SourceRows(rows=rows, redactions=counter)


def grading_count(scope: str) -> int:
    grades = _confirmed_grades(scope)
    return 0 if grades is None else int(grades.count())


def grading_scopes() -> list[str]:
    confirmed = _model("grading.ConfirmedGrade")
    if confirmed is None:
        return []
    ids = confirmed.objects.values_list("submission__assignment_id", flat=True).distinct()
    return [f"assignment:{pk}" for pk in sorted(set(ids))]


# --- tutor: endorsed/corrected answers (supervised pairs) and ratings (preferences) -----------
# Scope "" is the site-wide generator (every course's data); "course:<id>" one course's.
def _course_filter(scope: str) -> dict[str, int]:
    return {} if scope == "" else {"course_id": _scope_id(scope, "course")}


def tutor_rows(scope: str) -> SourceRows:
    faq = _model("tutoring.FaqEntry")
    message = _model("tutoring.Message")
    if faq is None:
        return SourceRows(rows=[])
    counter: Counter[str] = Counter()
    rosters: dict[int, list[Person]] = {}
    rows: list[Row] = []
    for entry in faq.objects.filter(**_course_filter(scope)).order_by("pk"):
        people = rosters.setdefault(entry.course_id, _roster(entry.course_id))
        rows.append(
            {
                "id": f"faq:{entry.pk}",
                "type": "pair",
                "course": entry.course_id,
                "question": _clean(entry.question, people, counter),
                "answer": _clean(entry.answer, people, counter),
                "corrected": bool(entry.corrected),
            }
        )
    if message is not None:
        course = _course_filter(scope)
        rated = message.objects.filter(
            role="tutor",
            rating__isnull=False,
            reply_to__isnull=False,
            **{f"conversation__{key}": value for key, value in course.items()},
        ).select_related("reply_to", "conversation")
        for answer in rated.order_by("pk"):
            course_id = answer.conversation.course_id
            people = rosters.setdefault(course_id, _roster(course_id))
            question = answer.reply_to.redacted_text or answer.reply_to.text
            rows.append(
                {
                    "id": f"rating:{answer.pk}",
                    "type": "preference",
                    "course": course_id,
                    "question": _clean(question, people, counter),
                    "answer": _clean(answer.text, people, counter),
                    "rating": float(answer.rating),
                }
            )
    return SourceRows(rows=rows, redactions=counter)


def tutor_count(scope: str) -> int:
    faq = _model("tutoring.FaqEntry")
    return 0 if faq is None else int(faq.objects.filter(**_course_filter(scope)).count())


def tutor_scopes() -> list[str]:
    faq = _model("tutoring.FaqEntry")
    return [""] if faq is not None and faq.objects.exists() else []


def _register_builtin() -> None:
    training_source_register(
        kind=GRADING, source=DataSource(rows=grading_rows, count=grading_count, scopes=grading_scopes)
    )
    training_source_register(
        kind=TUTOR, source=DataSource(rows=tutor_rows, count=tutor_count, scopes=tutor_scopes)
    )


_register_builtin()


def rows_of(iterable: Iterable[Row]) -> list[Row]:
    rows = list(iterable)
    for row in rows:
        if not isinstance(row.get("id"), str) or not row["id"]:
            raise TrainingDataError(f"A training row has no string id: {sorted(row)}")
    return rows


def user_row_ids(user_id: int) -> set[str]:
    """The ids of the snapshot rows that came from a user's data (for erasure)."""
    grades = _model("grading.ConfirmedGrade").objects.filter(submission__student_id=user_id)
    answers = _model("tutoring.Message").objects.filter(conversation__student_id=user_id)
    return {f"confirmed-grade:{pk}" for pk in grades.values_list("pk", flat=True)} | {
        f"rating:{pk}" for pk in answers.values_list("pk", flat=True)
    }
