"""Writes of the weekly course metrics (analytics/weekly.py has the definitions and the maths).

Incremental: each run recomputes only the weeks touched by events recorded since the previous
run (the calendar's watermark, minus an overlap for transactions that committed late), plus the
planned weeks of the items those events complete. Changing the calendar or the plan clears the
watermark, so the next run recomputes the whole course. Recomputing a week twice gives the same
row, so an overlap or a retried task is harmless.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Avg, Count, FloatField, IntegerField, Max, Q, QuerySet, Value
from django.db.models.functions import Cast, Extract, Floor
from django.utils import timezone

from eduai.courses.models import Course, Enrollment
from grading.models import Assignment
from tutoring.models import Material

from .models import (
    CourseCalendar,
    CourseWeekMetrics,
    KnowledgePoint,
    KnowledgePointMetrics,
    LearningEvent,
    Mastery,
    PlannedItem,
)
from .weekly import (
    KIND_OF_VERB,
    KIND_OTHER,
    SECONDS_PER_WEEK,
    WeekInputs,
    WeekTrend,
    week_flags,
    week_metrics,
)

# Events recorded this long before the previous run are looked at again (late commits).
WATERMARK_OVERLAP = timedelta(minutes=5)
# A knowledge point falls behind when its mean score is this far below the course's.
POINT_MARGIN = 0.15
POINT_MIN_RESPONSES = 5
ASSIGNMENT_DONE_VERBS = (LearningEvent.Verb.SUBMITTED, LearningEvent.Verb.GRADED)


def course_calendar_get(*, course: Course) -> CourseCalendar:
    """The course's calendar; created on first use, starting on the day the course was created."""
    calendar, _ = CourseCalendar.objects.get_or_create(
        course=course, defaults={"starts_on": timezone.localdate(course.created_at)}
    )
    return calendar


@transaction.atomic
def course_calendar_set(*, course: Course, starts_on: date) -> CourseCalendar:
    """Set when course week 1 starts; the next metrics run recomputes every week."""
    calendar = course_calendar_get(course=course)
    calendar.starts_on = starts_on
    calendar.metrics_watermark = None
    calendar.save(update_fields=["starts_on", "metrics_watermark"])
    CourseWeekMetrics.objects.filter(course=course).delete()
    return calendar


@transaction.atomic
def planned_item_set(
    *, course: Course, week: int, assignment: Assignment | None = None, material: Material | None = None
) -> PlannedItem:
    """Plan an assignment (due) or a material (to study) in a course week; planning it again moves it."""
    if (assignment is None) == (material is None):
        raise ValidationError("plan either an assignment or a material")
    item_course = (assignment or material).course_id  # type: ignore[union-attr]
    if item_course != course.pk:
        raise ValidationError("only the course's own assignments and materials can be planned in it")
    if week < 1:
        raise ValidationError("course weeks start at 1")
    lookup: dict[str, Any] = {"assignment": assignment} if assignment is not None else {"material": material}
    item, _ = PlannedItem.objects.update_or_create(defaults={"week": week}, course=course, **lookup)
    CourseCalendar.objects.filter(course=course).update(metrics_watermark=None)
    return item


def week_start(calendar: CourseCalendar) -> datetime:
    return timezone.make_aware(datetime.combine(calendar.starts_on, time.min))


def _seconds(moments: Iterable[datetime], start: datetime) -> np.ndarray:
    origin = start.timestamp()
    return np.fromiter((moment.timestamp() - origin for moment in moments), dtype=np.float64)


def _weeks(moments: list[datetime], start: datetime) -> np.ndarray:
    return np.floor(_seconds(moments, start) / SECONDS_PER_WEEK).astype(np.int64) + 1


def _plan(course: Course) -> tuple[dict[tuple[str, str], int], np.ndarray]:
    """Planned items keyed by (object type, object id) of the events that complete them, and
    the planned week of each (by index)."""
    rows = list(PlannedItem.objects.filter(course=course).values_list("assignment_id", "material_id", "week"))
    keys = {
        ("assignment", str(a)) if a is not None else ("material", str(m)): index
        for index, (a, m, _week) in enumerate(rows)
    }
    return keys, np.array([week for _, _, week in rows], dtype=np.int64)


def _completion_filter(keys: dict[tuple[str, str], int]) -> Q:
    assignments = [object_id for kind, object_id in keys if kind == "assignment"]
    materials = [object_id for kind, object_id in keys if kind == "material"]
    return Q(verb__in=ASSIGNMENT_DONE_VERBS, object_type="assignment", object_id__in=assignments) | Q(
        verb=LearningEvent.Verb.VIEWED, object_type="material", object_id__in=materials
    )


def _item_index(keys: dict[tuple[str, str], int], types: list[str], ids: list[str]) -> np.ndarray:
    """Index of the planned item each (type, id) names, -1 for none (vectorised on strings)."""
    if not keys or not types:
        return np.full(len(types), -1, dtype=np.int64)
    names = np.array([f"{kind}:{object_id}" for kind, object_id in keys])
    order = np.argsort(names)
    wanted = np.char.add(np.char.add(np.array(types, dtype=str), ":"), np.array(ids, dtype=str))
    position = np.minimum(np.searchsorted(names[order], wanted), len(names) - 1)
    found = names[order][position] == wanted
    return np.where(found, order[position], -1).astype(np.int64)


def _week_expression(start: datetime) -> Cast:
    """The course week of an event's timestamp, computed by PostgreSQL."""
    seconds = Extract("timestamp", "epoch", tzinfo=UTC) - Value(start.timestamp())
    return Cast(Floor(seconds / Value(float(SECONDS_PER_WEEK))) + Value(1.0), IntegerField())


def _columns(
    events: QuerySet[LearningEvent], start: datetime, fields: tuple[str, ...], *, distinct: bool = False
) -> tuple[list[list[Any]], np.ndarray]:
    """The fields' columns and each row's course week. PostgreSQL computes the week (parsing
    100,000 timestamps in Python costs seconds); other databases send the timestamps."""
    rows: QuerySet[Any, Any]
    if connection.vendor == "postgresql":
        rows = events.annotate(course_week=_week_expression(start)).values_list(*fields, "course_week")
    else:
        rows = events.values_list(*fields, "timestamp")
    if distinct:
        rows = rows.order_by().distinct()
    listed = list(rows)
    columns = (
        [list(column) for column in zip(*listed, strict=True)]
        if listed
        else [[] for _ in range(len(fields) + 1)]
    )
    last = columns.pop()
    weeks = np.array(last, dtype=np.int64) if connection.vendor == "postgresql" else _weeks(last, start)
    return columns, weeks


def event_seconds(
    events: QuerySet[LearningEvent], start: datetime, fields: tuple[str, ...]
) -> tuple[list[list[Any]], np.ndarray]:
    """The fields' columns and each row's time in seconds since ``start`` (from PostgreSQL when
    it is the database, as in ``_columns``)."""
    if connection.vendor == "postgresql":
        seconds = Cast(Extract("timestamp", "epoch", tzinfo=UTC), FloatField()) - Value(start.timestamp())
        listed = list(events.annotate(since=seconds).values_list(*fields, "since"))
    else:
        listed = list(events.values_list(*fields, "timestamp"))
    columns = (
        [list(column) for column in zip(*listed, strict=True)]
        if listed
        else [[] for _ in range(len(fields) + 1)]
    )
    last = columns.pop()
    since = np.array(last, dtype=np.float64) if connection.vendor == "postgresql" else _seconds(last, start)
    return columns, since


def _new_events(course: Course, calendar: CourseCalendar) -> QuerySet[LearningEvent]:
    events = LearningEvent.objects.filter(course=course)
    if calendar.metrics_watermark is not None:
        events = events.filter(created_at__gte=calendar.metrics_watermark - WATERMARK_OVERLAP)
    return events


def _affected_weeks(
    course: Course,
    calendar: CourseCalendar,
    start: datetime,
    keys: dict[tuple[str, str], int],
    item_week: np.ndarray,
) -> set[int]:
    events = _new_events(course, calendar)
    _, event_weeks = _columns(events, start, (), distinct=True)
    weeks = set(event_weeks.tolist())
    if keys:
        touched = list(
            events.filter(_completion_filter(keys))
            .order_by()
            .values_list("object_type", "object_id")
            .distinct()
        )
        types, ids = [row[0] for row in touched], [row[1] for row in touched]
        items = _item_index(keys, types, ids)
        weeks |= set(item_week[items[items >= 0]].tolist())
    return {week for week in weeks if week >= 1}


def _inputs(
    course: Course, start: datetime, weeks: set[int], keys: dict[tuple[str, str], int], item_week: np.ndarray
) -> WeekInputs:
    first, last = min(weeks), max(weeks)
    begin = start + timedelta(weeks=first - 1)
    end = start + timedelta(weeks=last)
    learners = np.fromiter(
        Enrollment.objects.filter(course=course, role=Enrollment.Role.LEARNER).values_list(
            "user_id", flat=True
        ),
        dtype=np.int64,
    )
    events = LearningEvent.objects.filter(course=course, timestamp__gte=begin, timestamp__lt=end)
    (users, verbs, scores), event_weeks = _columns(events, start, ("user_id", "verb", "result_score"))
    verb_array = np.array(verbs, dtype=str)
    kind = np.full(len(verbs), KIND_OTHER, dtype=np.int64)
    for verb, code in KIND_OF_VERB.items():
        kind[verb_array == verb] = code
    # Only the items planned in these weeks can change their progress.
    wanted = {key: index for key, index in keys.items() if int(item_week[index]) in weeks}
    if wanted:
        done = LearningEvent.objects.filter(_completion_filter(wanted), course=course, timestamp__lt=end)
        (done_users, done_types, done_ids), done_weeks = _columns(
            done, start, ("user_id", "object_type", "object_id")
        )
    else:
        done_users, done_types, done_ids, done_weeks = [], [], [], np.zeros(0, dtype=np.int64)
    item = _item_index(keys, done_types, done_ids)
    known = item >= 0
    return WeekInputs(
        learners=learners,
        user=np.array(users, dtype=np.int64),
        week=event_weeks,
        kind=kind,
        score=np.array(scores, dtype=np.float64),  # None becomes NaN
        completion_user=np.array(done_users, dtype=np.int64)[known],
        completion_item=item[known],
        completion_week=done_weeks[known],
        item_week=item_week,
    )


METRIC_FIELDS = [
    "starts_at",
    "ends_at",
    "enrolled_students",
    "active_students",
    "planned_items",
    "learning_progress",
    "feedback",
    "feedback_students",
    "answer_rating",
    "grade",
    "participation",
    "tutor_questions",
    "tutor_users",
    "events",
    "complete",
]


def course_week_metrics_update(*, course: Course, now: datetime | None = None) -> list[int]:
    """Recompute the course weeks with new events (all weeks after a plan change), then the
    flags of every week and knowledge point. Returns the weeks recomputed. ``now`` decides which
    weeks have ended (tests pass a moment); the watermark is always the real time of the run."""
    started = timezone.now()
    now = now or started
    calendar = course_calendar_get(course=course)
    start = week_start(calendar)
    keys, item_week = _plan(course)
    weeks = _affected_weeks(course, calendar, start, keys, item_week)
    fresh = bool(weeks) or _new_events(course, calendar).exists()
    if calendar.metrics_watermark is None:
        CourseWeekMetrics.objects.filter(course=course).delete()
    if weeks:
        rows = week_metrics(_inputs(course, start, weeks, keys, item_week), sorted(weeks))
        metrics = []
        for row in rows:
            begins = start + timedelta(weeks=row.week - 1)
            ends = begins + timedelta(weeks=1)
            values = {name: getattr(row, name) for name in METRIC_FIELDS if hasattr(row, name)}
            metrics.append(
                CourseWeekMetrics(
                    course=course,
                    week=row.week,
                    starts_at=begins,
                    ends_at=ends,
                    complete=ends <= now,
                    **values,
                )
            )
        CourseWeekMetrics.objects.bulk_create(
            metrics,
            update_conflicts=True,
            unique_fields=["course", "week"],
            update_fields=[*METRIC_FIELDS, "computed_at"],
        )
    CourseWeekMetrics.objects.filter(course=course, complete=False, ends_at__lte=now).update(complete=True)
    week_flags_update(course=course)
    if fresh:  # new events: scores and mastery may have moved
        knowledge_point_metrics_update(course=course)
    calendar.metrics_watermark = started
    calendar.metrics_computed_at = timezone.now()
    calendar.save(update_fields=["metrics_watermark", "metrics_computed_at"])
    return sorted(weeks)


def week_flags_update(*, course: Course) -> None:
    """Flag the ended weeks whose progress, feedback or participation falls behind the course's
    recent level; each reason is kept as data and worded when shown."""
    metrics = list(CourseWeekMetrics.objects.filter(course=course).order_by("week"))
    trends = [
        WeekTrend(m.week, m.complete, m.learning_progress, m.feedback, m.participation) for m in metrics
    ]
    for row, flag in zip(metrics, week_flags(trends), strict=True):
        row.flag_reasons = [
            {"metric": metric, "value": value, "level": level, "weeks": weeks}
            for metric, value, level, weeks in flag.reasons
        ]
        row.flagged = bool(row.flag_reasons)
    CourseWeekMetrics.objects.bulk_update(metrics, ["flagged", "flag_reasons"])


def knowledge_point_metrics_update(*, course: Course) -> None:
    """Per knowledge point: scored responses, mean score and mean mastery (one grouped query
    each); a point falls behind when its mean score is well below the course's."""
    through = LearningEvent.knowledge_points.through.objects.filter(
        learningevent__course=course, learningevent__result_score__isnull=False
    )
    scores = {
        row["knowledgepoint_id"]: row
        for row in through.values("knowledgepoint_id").annotate(
            responses=Count("pk"),
            students=Count("learningevent__user_id", distinct=True),
            mean=Avg("learningevent__result_score"),
        )
    }
    mastery = dict(
        Mastery.objects.filter(knowledge_point__course=course)
        .values("knowledge_point_id")
        .annotate(mean=Avg("probability"))
        .values_list("knowledge_point_id", "mean")
    )
    overall = through.aggregate(mean=Avg("learningevent__result_score"))["mean"]
    for point in KnowledgePoint.objects.filter(course=course):
        row = scores.get(point.pk, {})
        responses, mean = int(row.get("responses", 0)), row.get("mean")
        reasons = []
        enough = overall is not None and mean is not None and responses >= POINT_MIN_RESPONSES
        if enough and mean < overall - POINT_MARGIN:
            reasons.append({"metric": "score", "value": mean, "level": overall, "responses": responses})
        KnowledgePointMetrics.objects.update_or_create(
            knowledge_point=point,
            defaults={
                "responses": responses,
                "students": int(row.get("students", 0)),
                "mean_score": mean,
                "mean_mastery": mastery.get(point.pk),
                "flagged": bool(reasons),
                "flag_reasons": reasons,
            },
        )


def courses_with_new_events(*, now: datetime | None = None) -> list[int]:
    """Courses whose weekly metrics are behind: new events since their watermark, no watermark,
    or a week that has ended since it was computed."""
    now = now or timezone.now()
    pending: set[int] = set(
        CourseWeekMetrics.objects.filter(complete=False, ends_at__lte=now).values_list("course_id", flat=True)
    )
    watermarks = dict(CourseCalendar.objects.values_list("course_id", "metrics_watermark"))
    latest = LearningEvent.objects.values("course_id").annotate(newest=Max("created_at"))
    for row in latest:
        watermark = watermarks.get(row["course_id"])
        if watermark is None or row["newest"] > watermark:
            pending.add(row["course_id"])
    return sorted(pending)
