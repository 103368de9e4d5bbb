"""Writes of the course at-risk scores (analytics/course_risk.py has the model and its features)."""

from datetime import datetime

import numpy as np
from django.db import transaction
from django.utils import timezone

from eduai.courses.models import Course, Enrollment

from .course_risk import (
    DAY,
    FEATURES,
    FLAG_THRESHOLD,
    HORIZON_DAYS,
    VERB_CODES,
    CourseEvents,
    features_at,
    prior_model,
    reasons_of,
    risk_model_fit,
    struggled,
)
from .models import AtRiskScore, LearningEvent
from .weekly import SECONDS_PER_WEEK
from .weekly_services import _item_index, _plan, course_calendar_get, event_seconds, week_start


def course_events(*, course: Course) -> tuple[CourseEvents, datetime]:
    """The course's learner events and plan as arrays, and the course start they count from."""
    start = week_start(course_calendar_get(course=course))
    keys, item_week = _plan(course)
    learners = np.sort(
        np.fromiter(
            Enrollment.objects.filter(course=course, role=Enrollment.Role.LEARNER).values_list(
                "user_id", flat=True
            ),
            dtype=np.int64,
        )
    )
    (users, verbs, types, ids, scores), seconds = event_seconds(
        LearningEvent.objects.filter(course=course, user_id__in=learners.tolist()),
        start,
        ("user_id", "verb", "object_type", "object_id", "result_score"),
    )
    verb_array = np.array(verbs, dtype=str)
    verb = np.zeros(len(verbs), dtype=np.int64)
    for name, code in VERB_CODES.items():
        verb[verb_array == name] = code
    kinds = [kind for kind, _ in keys]
    events = CourseEvents(
        learners=learners,
        user=np.array(users, dtype=np.int64),
        verb=verb,
        item=_item_index(keys, types, ids),
        score=np.array(scores, dtype=np.float64),
        seconds=seconds,
        item_is_assignment=np.array([kind == "assignment" for kind in kinds], dtype=bool),
        item_due=item_week.astype(np.float64) * SECONDS_PER_WEEK,
    )
    return events, start


@transaction.atomic
def at_risk_score_course(*, course: Course, now: datetime | None = None) -> int:
    """Retrain on the course's own history (or use the prior model), score every learner at
    ``now`` and store the scores with their reasons. Returns how many students are flagged."""
    now = now or timezone.now()
    events, start = course_events(course=course)
    moment = (now - start).total_seconds()
    earlier = moment - HORIZON_DAYS * DAY
    model = None
    if earlier > 7 * DAY:
        model = risk_model_fit(features_at(events, earlier), struggled(events, earlier, moment))
    model = model or prior_model()
    matrix = features_at(events, moment)
    risks = model.risks(matrix)
    reasons = reasons_of(model, matrix)
    method = AtRiskScore.Method.TRAINED if model.trained else AtRiskScore.Method.PRIOR
    rows = [
        AtRiskScore(
            course=course,
            user_id=int(user_id),
            risk=float(risk),
            flagged=bool(risk >= FLAG_THRESHOLD),
            reasons=[{"feature": r.feature, "value": r.value, "weight": r.weight} for r in why],
            features={
                name: (None if np.isnan(value) else float(value))
                for name, value in zip(FEATURES, row, strict=True)
            },
            method=method,
            scored_at=now,
        )
        for user_id, risk, why, row in zip(events.learners, risks, reasons, matrix, strict=True)
    ]
    AtRiskScore.objects.filter(course=course).exclude(user_id__in=events.learners.tolist()).delete()
    AtRiskScore.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["course", "user"],
        update_fields=["risk", "flagged", "reasons", "features", "method", "scored_at"],
    )
    return sum(row.flagged for row in rows)


def courses_with_learners() -> list[int]:
    return sorted(
        set(Enrollment.objects.filter(role=Enrollment.Role.LEARNER).values_list("course_id", flat=True))
    )
