"""Whether a request came from htmx (a fragment is wanted) or is a plain page request."""

from django.http import HttpRequest


def htmx_request_is(request: HttpRequest) -> bool:
    """True for a request htmx sent (django-htmx's middleware reads its ``HX-Request`` header).

    Every form htmx posts is also a plain form (``method``, ``action``, CSRF field): a plain post
    (before htmx has wired the form, or without JavaScript) gets a redirect or a whole page.
    """
    return bool(getattr(request, "htmx", False))
