"""LTI endpoints: login initiation, launch, deep linking, JWKS. Thin: protocol.py validates,
services.py writes.

Every page here is shown inside the LMS's iframe (hence ``xframe_options_exempt``), and none of
them may rely on cookies: the launch view renders its page directly, and the deep-linking form
carries its launch id, which is unguessable and only on that page, in place of a CSRF cookie.
When the iframe blocks cookies, the launched page shows a link that starts the launch again in a
new window (``lti1p3_new_window=1``), where the session cookie works for what comes next.
"""

import logging
from uuid import UUID

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, login
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.contrib.auth.models import User
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from lti_tool.constants import SESSION_KEY
from lti_tool.models import Key, LtiLaunch
from pylti1p3.exception import LtiException, OIDCException

from eduai.courses.models import Enrollment

from .configuration import canvas_configuration, tool_urls
from .forms import DeepLinkForm
from .keys import signing_key_ensure
from .protocol import DeploymentRejectedError, MessageLaunch, OIDCLogin, ToolConfig
from .roles import is_staff_role
from .selectors import LaunchRecord, launch_record_get
from .services import (
    DeepLinkChoice,
    RegistrationError,
    deep_link_resources_create,
    launch_record,
    platform_register,
)

logger = logging.getLogger(__name__)


def _rejected(request: HttpRequest, reason: str, *, status: int) -> HttpResponse:
    logger.warning("LTI request rejected with %s: %s", status, reason)
    return render(request, "lti/error.html", {"reason": reason}, status=status)


@csrf_exempt  # the platform posts here cross-site; the state and nonce protect the flow
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def login_initiation(request: HttpRequest, registration_uuid: UUID | None = None) -> HttpResponse:
    """OIDC third-party login: check the platform, issue state and nonce, send the browser back."""
    params = request.POST if request.method == "POST" else request.GET
    if not params.get("target_link_uri"):
        return _rejected(request, "Missing target_link_uri parameter.", status=400)
    oidc_login = OIDCLogin(request, ToolConfig(registration_uuid))
    # No cookie check page first (pylti1p3's would stop here without cookies): the state needs
    # none, and the launched page itself offers a new window (lti1p3_new_window=1) when the
    # iframe blocks cookies.
    oidc_login.remember_login(request.path, params)
    try:
        response: HttpResponse = oidc_login.redirect(request.build_absolute_uri(reverse("lti:launch")))
    except (OIDCException, LtiException) as error:
        return _rejected(request, f"LTI login refused: {error}", status=400)
    return response


LOGIN_BACKEND = "django.contrib.auth.backends.ModelBackend"


def _signed_in_as(request: HttpRequest, user: User) -> bool:
    """Whether the session already signs ``user`` in (a student launching again from the same
    browser): then it is kept as it is. ``login`` would keep it too, but write ``last_login``
    (an UPDATE locking the user's row) on every launch; ``last_login`` is when the browser's
    session began."""
    session = request.session
    return (
        session.get(AUTH_USER_KEY) == str(user.pk)
        and session.get(BACKEND_SESSION_KEY) == LOGIN_BACKEND
        and constant_time_compare(session.get(HASH_SESSION_KEY, ""), user.get_session_auth_hash())
    )


@csrf_exempt
@xframe_options_exempt
@require_POST
def launch(request: HttpRequest) -> HttpResponse:
    """The id_token post: validate, record user/course/enrollment, show the resource's page."""
    message_launch = MessageLaunch(request)
    try:
        message_launch.validate()
    except DeploymentRejectedError as error:
        return _rejected(request, f"LTI launch refused: {error}", status=403)
    except LtiException as error:
        return _rejected(request, f"LTI launch refused: {error}", status=400)
    lti_launch = LtiLaunch(message_launch)
    # What LtiLaunchMiddleware does for later requests: the page's language and header follow it.
    request.lti_launch = lti_launch  # type: ignore[attr-defined]
    try:
        record = launch_record(lti_launch=lti_launch)
    except DataError as error:
        # A genuine launch whose claims do not fit (a 600-character name): the platform's data
        # is wrong, not our code, and nothing was written (launch_record is one transaction).
        return _rejected(
            request, f"LTI launch refused: the LMS sent a value eduai cannot store ({error})", status=400
        )
    if not _signed_in_as(request, record.user):
        login(request, record.user, backend=LOGIN_BACKEND)
    request.session[SESSION_KEY] = lti_launch.get_launch_id()
    new_window_url = message_launch.new_window_url()
    if lti_launch.is_deep_link_launch:
        form = DeepLinkForm(initial={"launch_id": lti_launch.get_launch_id()})
        return _deep_link_page(request, record, form, new_window_url=new_window_url)
    if lti_launch.is_resource_launch:
        return _resource_page(request, record, new_window_url=new_window_url)
    return _rejected(request, "This kind of LTI message is not supported.", status=400)


@xframe_options_exempt
@require_GET
def resource(request: HttpRequest) -> HttpResponse:
    """The current launch's page again, for follow-up requests (the session carries the launch)."""
    lti_launch = getattr(request, "lti_launch", None)
    if not isinstance(lti_launch, LtiLaunch) or not request.user.is_authenticated:
        return _rejected(request, "This page opens from your course in the LMS.", status=403)
    if not lti_launch.is_resource_launch:
        return _rejected(request, "This launch has no resource to show.", status=400)
    return _resource_page(request, launch_record_get(lti_launch=lti_launch, user=request.user))


def _resource_page(
    request: HttpRequest, record: LaunchRecord, *, new_window_url: str | None = None
) -> HttpResponse:
    if record.assignment is not None:
        from grading.views import assignment_page  # grading's pages for a graded assignment

        return assignment_page(request, record, new_window_url=new_window_url)
    template = "lti/instructor.html" if is_staff_role(record.role) else "lti/student.html"
    role_label = Enrollment.Role(record.role).label
    context = {"record": record, "role_label": role_label, "new_window_url": new_window_url}
    return render(request, template, context)


def _deep_link_page(
    request: HttpRequest,
    record: LaunchRecord,
    form: DeepLinkForm,
    *,
    status: int = 200,
    new_window_url: str | None = None,
) -> HttpResponse:
    if not is_staff_role(record.role):
        return _rejected(request, "Only instructors can add eduai activities to a course.", status=403)
    if record.course is None:
        return _rejected(request, "Activities can only be added inside a course.", status=400)
    context = {"record": record, "form": form, "new_window_url": new_window_url}
    return render(request, "lti/deep_link.html", context, status=status)


@csrf_exempt  # see the module docstring: the launch id in the form is the CSRF token
@xframe_options_exempt
@require_POST
def deep_link_submit(request: HttpRequest) -> HttpResponse:
    """The instructor's choice: create it and return a signed deep-linking response to the LMS."""
    launch_id = request.POST.get("launch_id", "")
    try:
        if not launch_id.startswith("lti1p3-launch-"):
            raise LtiException("not a launch id")
        message_launch = MessageLaunch.restore(request, launch_id)
    except LtiException:
        return _rejected(request, "This page expired; add the activity again from the LMS.", status=400)
    lti_launch = LtiLaunch(message_launch)
    request.lti_launch = lti_launch  # type: ignore[attr-defined]
    if not lti_launch.is_deep_link_launch:
        return _rejected(request, "This launch was not for adding activities.", status=400)
    record = launch_record_get(lti_launch=lti_launch, user=lti_launch.user.auth_user)
    form = DeepLinkForm(request.POST)
    if not is_staff_role(record.role) or record.course is None or not form.is_valid():
        return _deep_link_page(request, record, form, status=400)
    choice = DeepLinkChoice(
        kind=form.cleaned_data["kind"],
        title=form.cleaned_data["title"],
        prompt=form.cleaned_data["prompt"],
        max_score=form.cleaned_data["max_score"],
    )
    resources = deep_link_resources_create(
        course=record.course, choice=choice, launch_url=request.build_absolute_uri(reverse("lti:launch"))
    )
    deep_link = message_launch.get_deep_link()
    # Spent: a second submit of the same page would place a second copy.
    message_launch.forget()
    context = {
        "return_url": deep_link._deep_link_settings["deep_link_return_url"],
        "jwt": deep_link.get_response_jwt(resources),
    }
    return render(request, "lti/deep_link_response.html", context)


@require_GET
def jwks(request: HttpRequest) -> JsonResponse:
    """The tool's public keys, which platforms use to check what the tool signs."""
    signing_key_ensure()
    response = JsonResponse(Key.objects.as_jwks())
    # Short, so a rotated key reaches platforms soon.
    response["Cache-Control"] = "public, max-age=300"
    return response


@xframe_options_exempt  # the LMS opens registration in a frame of its admin page
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    """LTI Dynamic Registration (Moodle, Canvas): the LMS admin pastes this URL and we do the rest."""
    openid_configuration = request.GET.get("openid_configuration", "")
    if not openid_configuration:
        return _rejected(request, "Missing openid_configuration parameter.", status=400)
    try:
        registration = platform_register(
            openid_configuration_url=openid_configuration,
            registration_token=request.GET.get("registration_token", ""),
            urls=tool_urls(request),
            # Plain http only for trials (DEBUG); anything else is an open door to internal URLs.
            allow_http=settings.DEBUG,
            activate=settings.LTI_AUTO_ACTIVATE_REGISTRATIONS,
        )
    except RegistrationError as error:
        return _rejected(request, f"Registration failed: {error}", status=400)
    return render(request, "lti/registered.html", {"registration": registration})


@require_GET
def canvas_configuration_json(request: HttpRequest) -> JsonResponse:
    """Canvas developer-key configuration, pasted as a URL into Canvas."""
    return JsonResponse(canvas_configuration(tool_urls(request)))


@staff_member_required
@require_GET
def setup(request: HttpRequest) -> HttpResponse:
    """The URLs an admin pastes into Moodle or Canvas."""
    return render(request, "lti/setup.html", {"urls": tool_urls(request)})
