"""The language of a launched page, security headers that let the LMS, and only the LMS, frame
eduai, and the cap on request bodies."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import translation

from .errors import error_response
from .languages import request_launch_language
from .selectors import origin_of, platform_origins_list


class RequestSizeLimitMiddleware:
    """Refuse a body over its limit (413) from its ``Content-Length``, before anything reads it.

    Django checks ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only when ``request.body`` or the form parser
    reads the body; the API's JSON parser reads the stream and would take any size. The limit:
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``; for a multipart form (a file upload), ``UPLOAD_MAX_BYTES``
    more, the file's own limit, which the upload reader then checks with its own message.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or "0"
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if request.content_type == "multipart/form-data":
            limit += settings.UPLOAD_MAX_BYTES
        if declared.isdigit() and int(declared) > limit:
            message = f"The request is too large: at most {limit:,} bytes are accepted."
            return error_response(request, status=413, message=message)
        return self.get_response(request)


class LaunchLanguageMiddleware:
    """After LocaleMiddleware (browser languages) and LtiLaunchMiddleware: the LMS's locale wins.

    The launch request itself is handled by the launch view, which passes the same language to
    its template; this covers every later request the session's launch carries.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request_launch_language(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


# Our own pages: scripts and styles from our static files only (htmx included), so an injected
# <script> or style attribute does nothing.
_PAGE_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
)


class ContentSecurityPolicyMiddleware:
    """Content-Security-Policy on every response.

    Pages exempt from X-Frame-Options (the LTI pages) may be framed by 'self' and the active LTI
    platforms' origins, never by anyone else; other pages by 'self' only (X-Frame-Options DENY
    still applies to browsers without CSP). Forms may post to those platforms too, since the
    deep-linking response goes back to the LMS. The Django admin and the API docs bring their
    own inline scripts, so they get only the framing and transport directives.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = "; ".join(self._directives(request, response))
        return response

    def _directives(self, request: HttpRequest, response: HttpResponse) -> list[str]:
        framable = getattr(response, "xframe_options_exempt", False)
        platforms = " ".join(["'self'", *self._platform_origins(request)]) if framable else "'self'"
        directives = [f"frame-ancestors {platforms}", f"form-action {platforms}"]
        if not request.path.startswith(_own_script_exempt_prefixes()):
            directives = [*_PAGE_POLICY, *directives]
        if request.is_secure():
            # Behind TLS a stray http:// asset is fetched over https instead of being mixed in.
            directives.append("upgrade-insecure-requests")
        return directives

    @staticmethod
    def _platform_origins(request: HttpRequest) -> list[str]:
        origins = platform_origins_list()
        if request.resolver_match and request.resolver_match.view_name == "lti:register":
            # Dynamic registration runs in a frame of the LMS's admin before the platform is
            # active (or even known); the page only reports the result and closes.
            origin = origin_of(request.GET.get("openid_configuration", ""))
            if origin:
                origins.append(origin)
        return origins


def _own_script_exempt_prefixes() -> tuple[str, ...]:
    return (reverse("admin:index"), reverse("api-docs"))
