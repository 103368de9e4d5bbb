"""Analytics pages inside the LMS (the instructor dashboard, the student's next step) and the CSV
exports. They read precomputed rows only; the session comes from an LTI launch (or staff login)."""

import csv

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET
from lti_tool.models import LtiLaunch

from eduai.courses.access import course_member_is, course_staff_is
from eduai.courses.models import Course
from eduai.lti.selectors import LaunchRecord, launch_record_get

from .exports import EXPORTS
from .next_step_services import next_step_refresh
from .selectors import next_step_get


def _launch_record(request: HttpRequest, course: Course) -> LaunchRecord | None:
    """The session's LTI launch, when it is this course's: the page header then shows the
    course and the role, as on the launched page."""
    lti_launch = getattr(request, "lti_launch", None)
    if not isinstance(lti_launch, LtiLaunch) or lti_launch.context_claim is None:
        return None
    record = launch_record_get(lti_launch=lti_launch, user=request.user)  # type: ignore[arg-type]
    return record if record.course == course else None


def _course_for_instructor(request: HttpRequest, course_id: int) -> Course:
    course = get_object_or_404(Course, pk=course_id)
    if not course_staff_is(user=request.user, course_id=course.pk):
        raise Http404("No such course dashboard.")  # the same answer as a missing course
    return course


@xframe_options_exempt
@require_GET
@login_required
def course_dashboard_page(request: HttpRequest, course_id: int) -> HttpResponse:
    course = _course_for_instructor(request, course_id)
    context = {"course": course, "record": _launch_record(request, course)}
    return render(request, "analytics/dashboard_page.html", context)


@xframe_options_exempt
@require_GET
@login_required
def course_export(request: HttpRequest, course_id: int, table: str) -> HttpResponse:
    course = _course_for_instructor(request, course_id)
    if table not in EXPORTS:
        raise Http404("No such export.")
    header, rows = EXPORTS[table](course)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="course-{course.pk}-{table}.csv"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@xframe_options_exempt
@require_GET
@login_required
def next_step_page(request: HttpRequest, course_id: int) -> HttpResponse:
    """The student's own next step; the first visit chooses it (the question comes from a task)."""
    course = get_object_or_404(Course, pk=course_id)
    if not course_member_is(user=request.user, course_id=course.pk):
        raise Http404("No such course.")
    if next_step_get(course_id=course.pk, user_id=int(request.user.pk or 0)) is None:
        next_step_refresh(course=course, user=request.user)  # type: ignore[arg-type]
    context = {"course": course, "record": _launch_record(request, course)}
    return render(request, "analytics/next_step_page.html", context)
