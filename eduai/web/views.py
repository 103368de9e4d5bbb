"""The landing page and the staff-only component gallery (with the gallery's demo endpoints)."""

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET, require_POST

from .forms import SubmissionForm
from .htmx import htmx_request_is
from .templatetags.ui import ChatMessage, ReviewRow
from .toasts import toast_trigger

# Only the test suite's URLconf (tests/browser/urls.py) serves canned answers; in production the
# gallery's chat is read-only, and the tutor's pages give the component eduai/ml's start URL.
DEMO_CHAT_START_URL_NAME = "web-demo-chat-start"
SUBMISSION_COMPONENT_ID = "submission"


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """What someone who opens eduai's address directly sees: it is used from inside an LMS."""
    return render(request, "web/home.html")


@staff_member_required
@xframe_options_exempt  # framed by the LMS like the LTI pages, so the components are tried there
@require_GET
def components(request: HttpRequest) -> HttpResponse:
    """Every component with sample data, for reviewers and the browser tests."""
    return render(request, "web/components.html", _gallery_context(request, SubmissionForm()))


@staff_member_required
@xframe_options_exempt
@require_POST
def components_submit(request: HttpRequest) -> HttpResponse:
    """The submission component's round trip: errors with 400, or the accepted notice."""
    form = SubmissionForm(request.POST, request.FILES)
    if not form.is_valid():
        return _submission_fragment(request, form, status=400)
    upload = form.cleaned_data["file"]
    characters = len(form.cleaned_data["text"])
    if upload is None:
        accepted = _("Received %(characters)s characters of text.") % {"characters": characters}
    else:
        accepted = _("Received %(characters)s characters of text and the file %(name)s.") % {
            "characters": characters,
            "name": upload.name,
        }
    return _submission_fragment(request, SubmissionForm(), accepted=accepted)


@staff_member_required
@xframe_options_exempt
@require_POST
def components_review(request: HttpRequest) -> HttpResponse:
    """The review table's bulk action: what a real queue does, minus the writes."""
    ids = request.POST.getlist("ids")
    action = request.POST.get("action", "")
    if action not in dict(_review_actions()) or not ids:
        message = _("Choose at least one row and an action.")
        return HttpResponse(format_html('<p class="field-error" role="alert">{}</p>', message), status=400)
    text = ngettext("%(count)d item: %(action)s.", "%(count)d items: %(action)s.", len(ids)) % {
        "count": len(ids),
        "action": dict(_review_actions())[action],
    }
    return toast_trigger(HttpResponse(status=204), level="success", text=text)


def _submission_fragment(
    request: HttpRequest, form: SubmissionForm, *, status: int = 200, accepted: str = ""
) -> HttpResponse:
    if not htmx_request_is(request):
        # Without JavaScript the form posted as a whole page: answer with the whole page.
        context = {**_gallery_context(request, form), "submission_accepted": accepted}
        return render(request, "web/components.html", context, status=status)
    context = {"form": form, "accepted": accepted, "component_id": SUBMISSION_COMPONENT_ID}
    return render(request, "web/submission_fragment.html", context, status=status)


def _review_actions() -> list[tuple[str, str]]:
    return [("approve", _("Approve and release")), ("review", _("Send back for review"))]


def _gallery_context(request: HttpRequest, form: SubmissionForm) -> dict[str, object]:
    try:
        start_url: str | None = reverse(DEMO_CHAT_START_URL_NAME)
    except NoReverseMatch:
        start_url = None
    return {
        "chat_start_url": start_url,
        "chat_messages": [
            ChatMessage(author="student", text=_("What does the cell membrane do?")),
            ChatMessage(
                author="tutor",
                text=_("What do you think would happen to a cell if anything could pass in or out?"),
            ),
        ],
        "submission": form,
        "submission_id": SUBMISSION_COMPONENT_ID,
        "review_columns": [_("Student"), _("Assignment"), _("AI grade"), _("Confidence")],
        "review_rows": [
            ReviewRow(id="1", cells=["Student 1", _("Osmosis essay"), "7 / 10", "0.91"]),
            ReviewRow(id="2", cells=["Student 2", _("Osmosis essay"), "4 / 10", "0.48"]),
            ReviewRow(id="3", cells=["Student 3", _("Osmosis essay"), "9 / 10", "0.88"]),
        ],
        "review_actions": _review_actions(),
        "weekly_progress": [
            (_("Week %(number)d") % {"number": week}, value)
            for week, value in enumerate([0.42, 0.55, 0.61, 0.58, 0.72], start=1)
        ],
    }
