"""Analytics pages inside the LMS (the instructor dashboard, the student's next step) and the CSV
exports. They read precomputed rows only; the session comes from an LTI launch (or staff login)."""

import csv

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_POST
from lti_tool.models import LtiLaunch

from eduai.audit.models import AuditEntry
from eduai.audit.services import audit_record
from eduai.courses.access import course_learner_is, course_member_is, course_staff_is
from eduai.courses.models import Course
from eduai.lti.selectors import LaunchRecord, launch_record_get
from eduai.web.htmx import htmx_request_is
from eduai.web.toasts import toast_trigger

from .exports import EXPORTS
from .next_step_services import next_step_refresh, practice_attempt_record
from .selectors import next_step_get
from .templatetags.analytics import next_step_panel


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
    audit_record(
        actor=request.user,
        action=AuditEntry.Action.COURSE_EXPORT,
        course=course,
        details={"table": table, "rows": len(rows), "format": "csv"},
    )
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


@xframe_options_exempt
@require_POST
@login_required
def practice_attempt(request: HttpRequest, course_id: int) -> HttpResponse:
    """The student says whether their answer to the practice question matched the worked
    solution; htmx gets the refreshed next-step panel, a plain form post the next-step page."""
    course = get_object_or_404(Course, pk=course_id)
    if not course_learner_is(user=request.user, course_id=course.pk):
        raise Http404("No such course.")
    point = request.POST.get("knowledge_point", "")
    correct = request.POST.get("correct", "")
    if not point.isdigit() or correct not in {"0", "1"}:
        return HttpResponse(_("Say whether your answer matched the worked solution."), status=400)
    try:
        practice_attempt_record(
            course=course,
            user=request.user,  # type: ignore[arg-type]
            knowledge_point_id=int(point),
            correct=correct == "1",
        )
    except ValidationError as error:
        return HttpResponse("; ".join(error.messages), status=400)
    if not htmx_request_is(request):
        return redirect("analytics-web:next-step", course_id=course.pk)
    panel = next_step_panel(course, request.user)  # type: ignore[arg-type]
    response = render(request, "analytics/_next_step.html", panel)
    return toast_trigger(response, level="success", text=_("Practice recorded: your next step is updated."))
