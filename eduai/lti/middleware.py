from collections.abc import Callable
from contextlib import suppress

from django.http import HttpRequest, HttpResponse
from lti_tool.constants import SESSION_KEY
from lti_tool.models import AbsentLtiLaunch, LtiLaunch
from pylti1p3.exception import LtiException

from .protocol import MessageLaunch


class LtiLaunchMiddleware:
    """Puts the session's launch on ``request.lti_launch`` (or an ``AbsentLtiLaunch``).

    Unlike django-lti's middleware it only restores a launch already validated by the launch
    view; it never validates a POST body itself, which would run every check twice and fetch
    the platform keys on each launch.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.lti_launch = AbsentLtiLaunch()  # type: ignore[attr-defined]
        launch_id = request.session.get(SESSION_KEY)
        if launch_id:
            # Expired from the cache: the page then asks for a new launch from the LMS.
            with suppress(LtiException):
                request.lti_launch = LtiLaunch(MessageLaunch.restore(request, launch_id))  # type: ignore[attr-defined]
        return self.get_response(request)
