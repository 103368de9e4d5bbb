from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject
from lti_tool.constants import SESSION_KEY
from lti_tool.models import AbsentLtiLaunch, LtiLaunch
from pylti1p3.exception import LtiException

from .protocol import MessageLaunch


def _launch_restore(request: HttpRequest, launch_id: str) -> LtiLaunch | AbsentLtiLaunch:
    data = getattr(request, "lti_launch_data", None)
    try:
        return LtiLaunch(MessageLaunch.restore(request, launch_id, launch_data=data))
    except LtiException:  # expired from the cache: the page then asks for a new launch from the LMS
        return AbsentLtiLaunch()


class LtiLaunchMiddleware:
    """Puts the session's launch on ``request.lti_launch`` (or an ``AbsentLtiLaunch``).

    Unlike django-lti's middleware it only restores a launch already validated by the launch
    view; it never validates a POST body itself, which would run every check twice and fetch
    the platform keys on each launch. The restore (with its registration check: two queries) runs
    on first use of ``request.lti_launch``, so requests that never read it (the JSON API) skip
    it; ``request.lti_launch_data`` holds the launch's cached claims for what needs no more
    (the page language), or None.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        launch: Any = AbsentLtiLaunch()
        data = None
        launch_id = request.session.get(SESSION_KEY)
        if launch_id:
            data = MessageLaunch.launch_data_get(launch_id)
            if data is not None:
                launch = SimpleLazyObject(lambda: _launch_restore(request, launch_id))
        request.lti_launch_data = data  # type: ignore[attr-defined]
        request.lti_launch = launch  # type: ignore[attr-defined]
        return self.get_response(request)
