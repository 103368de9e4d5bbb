"""Grading pages inside the LMS: the student's assignment page (submit, see released grades) and
the instructor's (review queue, score distribution, assignment settings). Thin: selectors read,
services write. Every page here is shown in the LMS's iframe, hence ``xframe_options_exempt``.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_http_methods, require_POST

from eduai.courses.access import course_learner_is, course_member_is, course_staff_is
from eduai.courses.models import Course, Enrollment
from eduai.lti.selectors import LaunchRecord
from eduai.web.htmx import htmx_request_is
from eduai.web.templatetags.ui import ReviewRow

from . import selectors, services
from .forms import AssignmentForm, OverrideForm, SubmitForm
from .models import Assignment, Submission

SUBMIT_COMPONENT_ID = "submit"
REVIEW_COMPONENT_ID = "review-queue"


def _denied(request: HttpRequest, reason: str, status: int = 403) -> HttpResponse:
    return render(request, "lti/error.html", {"reason": reason}, status=status)


def _user(request: HttpRequest) -> AbstractBaseUser | None:
    user = request.user
    return user if isinstance(user, AbstractBaseUser) and user.is_authenticated else None


def _record(user: AbstractBaseUser, assignment: Assignment) -> LaunchRecord:
    """The page header's course and role, as a launch of this assignment would give them."""
    enrollment = Enrollment.objects.filter(course=assignment.course, user_id=user.pk).first()
    role = Enrollment.Role(enrollment.role) if enrollment else Enrollment.Role.INSTRUCTOR
    return LaunchRecord(
        user=user,  # type: ignore[arg-type]
        role=role,
        course=assignment.course,
        resource_link=assignment.resource_link,
        assignment=assignment,
    )


# --- The assignment page (the launch view renders it too) -------------------------------------
def assignment_page(
    request: HttpRequest,
    record: LaunchRecord,
    *,
    new_window_url: str | None = None,
    form: SubmitForm | None = None,
    accepted: str = "",
    status: int = 200,
) -> HttpResponse:
    assignment = record.assignment
    if assignment is None:
        raise ValueError("assignment_page needs a launch record with an assignment")
    user = record.user
    context: dict[str, Any] = {"record": record, "assignment": assignment, "new_window_url": new_window_url}
    if course_staff_is(user=user, course_id=assignment.course_id):
        return render(
            request, "grading/instructor.html", context | _instructor_context(assignment), status=status
        )
    context |= _student_context(assignment, user, form=form, accepted=accepted)
    return render(request, "grading/student.html", context, status=status)


def _student_context(
    assignment: Assignment, user: AbstractBaseUser, *, form: SubmitForm | None, accepted: str
) -> dict[str, Any]:
    return {
        "submissions": selectors.submission_list_for_student(assignment=assignment, student=user),
        "attempts_left": selectors.attempts_left(assignment=assignment, student=user),
        "form": form or SubmitForm(),
        "accepted": accepted,
        "submit_url": reverse("grading:submit", args=[assignment.pk]),
        "component_id": SUBMIT_COMPONENT_ID,
    }


def _instructor_context(assignment: Assignment) -> dict[str, Any]:
    queue = selectors.review_queue(assignment=assignment)
    rows = [
        ReviewRow(
            id=str(entry.submission.pk),
            cells=[
                entry.submission.student.get_full_name() or entry.submission.student.get_username(),
                str(entry.submission.attempt) + (f" ({_('late')})" if entry.submission.is_late else ""),
                f"{entry.grade.score.normalize():f} / {assignment.max_score.normalize():f}",
                f"{entry.grade.confidence:.0%}",
            ],
        )
        for entry in queue
    ]
    return {
        "queue": queue,
        "review_rows": rows,
        "review_columns": [_("Student"), _("Attempt"), _("AI grade"), _("Confidence")],
        "review_actions": [("approve", _("Approve and release"))],
        "review_url": reverse("grading:review", args=[assignment.pk]),
        "component_id": REVIEW_COMPONENT_ID,
        "distribution": selectors.score_distribution(assignment=assignment),
        "pending": selectors.submissions_pending(assignment=assignment),
        "confirmed": selectors.submissions_confirmed(assignment=assignment)[:50],
    }


@xframe_options_exempt
@require_http_methods(["GET"])
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=pk)
    if user is None or (
        not course_member_is(user=user, course_id=assignment.course_id)
        and not (course_staff_is(user=user, course_id=assignment.course_id))
    ):
        return _denied(request, _("This page opens from your course in the LMS."))
    return assignment_page(request, _record(user, assignment))


# --- Student: submit ---------------------------------------------------------------------------
@xframe_options_exempt
@require_POST
def submission_submit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=pk)
    if user is None or not course_learner_is(user=user, course_id=assignment.course_id):
        return _denied(request, _("Only students of this course can submit here."))
    form = SubmitForm(request.POST, request.FILES)
    status, accepted = 200, ""
    if form.is_valid():
        try:
            submission = services.submission_create(
                assignment=assignment,
                student=user,
                text=form.cleaned_data["text"],
                upload=form.cleaned_data["file"],
            )
        except services.ScoringLimitError as error:
            # Stored and held for the instructor (over an AI scoring limit): an attempt like any.
            accepted, form = error.message, SubmitForm()
        except services.SubmissionError as error:
            # The typed text stays in the form: nothing the student wrote is lost.
            form.add_error(None, error.message)
            status = 400
        else:
            accepted = _("Attempt %(attempt)s received. Your grade appears here once it is released.") % {
                "attempt": submission.attempt
            }
            form = SubmitForm()
    else:
        status = 400
    record = _record(user, assignment)
    if not htmx_request_is(request):
        return assignment_page(request, record, form=form, accepted=accepted, status=status)
    context = {"form": form, "accepted": accepted, "component_id": SUBMIT_COMPONENT_ID}
    context["submit_url"] = reverse("grading:submit", args=[assignment.pk])
    response = render(request, "grading/_submit_fragment.html", context, status=status)
    if accepted:
        # The page reloads to list the new attempt (and the attempts left); the notice follows
        # as a toast.
        messages.success(request, accepted)
        response["HX-Redirect"] = reverse("grading:assignment", args=[assignment.pk])
    return response


# --- Instructor: review ------------------------------------------------------------------------
def _staff_assignment(request: HttpRequest, pk: int) -> tuple[AbstractBaseUser, Assignment] | HttpResponse:
    user = _user(request)
    assignment = get_object_or_404(Assignment.objects.select_related("course"), pk=pk)
    if user is None or not course_staff_is(user=user, course_id=assignment.course_id):
        return _denied(request, _("Only the course's instructors can do this."))
    return user, assignment


@xframe_options_exempt
@require_POST
def review_bulk(request: HttpRequest, pk: int) -> HttpResponse:
    found = _staff_assignment(request, pk)
    if isinstance(found, HttpResponse):
        return found
    user, assignment = found
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
    if request.POST.get("action") != "approve" or not ids:
        message = _("Choose at least one row and an action.")
        return HttpResponse(format_html('<p class="field-error" role="alert">{}</p>', message), status=400)
    confirmed = services.grades_bulk_approve(assignment=assignment, submission_ids=ids, reviewer=user)
    text = ngettext(
        "%(count)d grade approved and released.", "%(count)d grades approved and released.", len(confirmed)
    ) % {"count": len(confirmed)}
    page = reverse("grading:assignment", args=[assignment.pk])
    # The queue reloads without the approved rows; the result follows as a toast on the new page
    # (one sent with HX-Trigger would vanish with the page that showed it).
    messages.success(request, text)
    if not htmx_request_is(request):
        return redirect(page)
    response = HttpResponse(format_html('<p role="status">{}</p>', text))
    response["HX-Redirect"] = page
    return response


@xframe_options_exempt
@require_POST
def assignment_rescore(request: HttpRequest, pk: int) -> HttpResponse:
    """Grade again, as one batch, the current submissions whose AI grading failed or never ran."""
    found = _staff_assignment(request, pk)
    if isinstance(found, HttpResponse):
        return found
    sent = services.submissions_rescore(assignment=found[1])
    messages.success(
        request,
        ngettext(
            "%(count)d submission sent to AI grading.", "%(count)d submissions sent to AI grading.", len(sent)
        )
        % {"count": len(sent)},
    )
    return redirect(reverse("grading:assignment", args=[pk]))


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def submission_review(request: HttpRequest, pk: int) -> HttpResponse:
    submission = get_object_or_404(Submission.objects.select_related("assignment__course", "student"), pk=pk)
    found = _staff_assignment(request, submission.assignment_id)
    if isinstance(found, HttpResponse):
        return found
    user, assignment = found
    grade = getattr(submission, "ai_grade", None)
    criteria = selectors.review_criteria(assignment=assignment, grade=grade)
    form = OverrideForm(
        initial={"score": grade.score if grade else "", "keep_ai_feedback": True}, criteria=criteria
    )
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("decision") == "approve":
                confirmed = services.grade_approve(submission=submission, reviewer=user)
            else:
                form = OverrideForm(request.POST, criteria=criteria)
                if not form.is_valid():
                    raise services.GradeError(_("Enter a score."))
                keep = form.cleaned_data["keep_ai_feedback"]
                confirmed = services.grade_override(
                    submission=submission,
                    reviewer=user,
                    score=form.cleaned_data["score"],
                    comment=form.cleaned_data["comment"],
                    keep_ai_feedback=keep,
                    # Unticked, the per-criterion feedback is not released: its boxes do not count.
                    feedback=form.feedback_edits() if keep else None,
                    criterion_scores=form.criterion_scores() if keep else None,
                )
        except services.GradeError as error:
            # Score and comment errors go by their field; the others above the form.
            form.add_error(error.field if error.field in ("score", "comment") else None, str(error))
            status = 400
        else:
            # Back to the queue, which says what was done (the grade is released with it).
            messages.success(
                request,
                _("%(name)s: %(score)s (%(decision)s)")
                % {
                    "name": submission.student.get_full_name() or submission.student.get_username(),
                    "score": f"{confirmed.score.normalize():f}",
                    "decision": confirmed.get_decision_display(),
                },
            )
            return redirect(reverse("grading:assignment", args=[assignment.pk]))
    context = {
        "record": _record(user, assignment),
        "assignment": assignment,
        "submission": submission,
        "grade": grade,
        "confirmed": getattr(submission, "confirmed_grade", None),
        "form": form,
        "audit": selectors.submission_history(submission=submission),
    }
    return render(request, "grading/review.html", context, status=status)


# --- Instructor: assignment settings -----------------------------------------------------------
def _assignment_data(form: AssignmentForm) -> services.AssignmentData:
    data = form.cleaned_data
    return services.AssignmentData(
        title=data["title"],
        prompt=data["prompt"],
        kind=data["kind"],
        rubric=data["rubric"],
        reference_answers=data["reference_answers"],
        min_score=data["min_score"],
        max_score=data["max_score"],
        release_policy=data["release_policy"],
        auto_release_confidence=data["auto_release_confidence"],
        max_attempts=data["max_attempts"],
        due_at=data["due_at"],
        accept_late=data["accept_late"],
    )


def _assignment_form_page(
    request: HttpRequest,
    *,
    form: AssignmentForm,
    course: Course,
    assignment: Assignment | None,
    user: AbstractBaseUser,
) -> HttpResponse:
    if request.method == "POST" and form.is_valid():
        try:
            data = _assignment_data(form)
            if assignment is None:
                assignment = services.assignment_create(course=course, data=data)
            else:
                services.assignment_update(assignment=assignment, data=data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect(reverse("grading:assignment", args=[assignment.pk]))
    status = 400 if request.method == "POST" else 200
    enrollment = Enrollment.objects.filter(course=course, user_id=user.pk).first()
    record = LaunchRecord(
        user=user,  # type: ignore[arg-type]
        role=Enrollment.Role(enrollment.role) if enrollment else Enrollment.Role.INSTRUCTOR,
        course=course,
        resource_link=None,
        assignment=assignment,
    )
    context = {"record": record, "form": form, "assignment": assignment, "course": course}
    return render(request, "grading/assignment_form.html", context, status=status)


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def assignment_new(request: HttpRequest, course_id: int) -> HttpResponse:
    user = _user(request)
    course = get_object_or_404(Course, pk=course_id)
    if user is None or not course_staff_is(user=user, course_id=course.pk):
        return _denied(request, _("Only the course's instructors can do this."))
    form = AssignmentForm(request.POST) if request.method == "POST" else AssignmentForm()
    return _assignment_form_page(request, form=form, course=course, assignment=None, user=user)


@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def assignment_edit(request: HttpRequest, pk: int) -> HttpResponse:
    found = _staff_assignment(request, pk)
    if isinstance(found, HttpResponse):
        return found
    user, assignment = found
    if request.method == "POST":
        form = AssignmentForm(request.POST)
    else:
        form = AssignmentForm(initial=AssignmentForm.initial_for(assignment))
    return _assignment_form_page(
        request, form=form, course=assignment.course, assignment=assignment, user=user
    )
