"""Analytics panels for the LTI pages: ``{% load analytics %}``, then
``{% course_dashboard course %}`` on the instructor page and ``{% next_step_panel course user %}``
on the student page. Both only read precomputed rows (nothing is computed on page load)."""

from typing import Any

from django import template
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _

from eduai.courses.access import course_learner_is
from eduai.courses.models import Course

from ..models import CourseCalendar, KnowledgePoint
from ..presentation import heat_map_build, percent, point_reason_text, risk_reason_text, week_reason_text
from ..selectors import (
    at_risk_list,
    display_name,
    knowledge_point_metrics_list,
    mastery_grid,
    next_step_get,
    week_metrics_list,
)

register = template.Library()


def _series(weeks: list[Any], field: str) -> list[tuple[str, float]]:
    return [
        (_("W%(week)s") % {"week": week.week}, round(100 * getattr(week, field), 1))
        for week in weeks
        if getattr(week, field) is not None
    ]


@register.inclusion_tag("analytics/_dashboard.html")
def course_dashboard(course: Course) -> dict[str, Any]:
    weeks = list(week_metrics_list(course_id=course.pk))
    week_rows = [
        {
            "week": week,
            "progress": percent(week.learning_progress),
            "feedback": percent(week.feedback),
            "rating": percent(week.answer_rating),
            "grade": percent(week.grade),
            "participation": percent(week.participation),
            "reasons": [week_reason_text(reason) for reason in week.flag_reasons],
        }
        for week in weeks
    ]
    points = []
    for point in knowledge_point_metrics_list(course_id=course.pk):
        metrics = getattr(point, "metrics", None)
        points.append(
            {
                "name": point.name,
                "responses": metrics.responses if metrics else 0,
                "score": percent(metrics.mean_score if metrics else None),
                "mastery": percent(metrics.mean_mastery if metrics else None),
                "flagged": bool(metrics and metrics.flagged),
                "reasons": [
                    point_reason_text(reason) for reason in (metrics.flag_reasons if metrics else [])
                ],
            }
        )
    at_risk = [
        {
            "rank": rank,
            "name": display_name(score.user),
            "risk": percent(score.risk),
            "flagged": score.flagged,
            "reasons": [risk_reason_text(reason) for reason in score.reasons],
            "method": score.get_method_display(),
        }
        for rank, score in enumerate(at_risk_list(course_id=course.pk), start=1)
    ]
    calendar = CourseCalendar.objects.filter(course=course).first()
    grid = mastery_grid(course_id=course.pk)
    return {
        "course": course,
        "weeks": week_rows,
        "progress_series": _series(weeks, "learning_progress"),
        "feedback_series": _series(weeks, "feedback"),
        "points": points,
        "weak_points": [point for point in points if point["flagged"]],
        "heat_map": heat_map_build(grid) if grid.points and grid.students else None,
        "at_risk": at_risk,
        "flagged_count": sum(row["flagged"] for row in at_risk),
        "computed_at": calendar.metrics_computed_at if calendar else None,
        "starts_on": calendar.starts_on if calendar else None,
    }


@register.inclusion_tag("analytics/_next_step.html")
def next_step_panel(course: Course, user: AbstractBaseUser) -> dict[str, Any]:
    step = next_step_get(course_id=course.pk, user_id=int(user.pk))
    has_points = step is not None or KnowledgePoint.objects.filter(course=course).exists()
    return {
        "course": course,
        "step": step,
        "has_points": has_points,
        "mastery": percent(step.mastery) if step else "",
        "can_practise": step is not None and course_learner_is(user=user, course_id=course.pk),
    }
