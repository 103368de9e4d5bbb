"""Reads for the web shell."""

import contextlib
import re
from urllib.parse import urlsplit

from django.core.cache import cache
from lti_tool.models import LtiRegistration

from eduai.celery import BROKER_ERRORS

# Only what a CSP source expression may hold: an issuer typed with a space or a ";" must not
# add or end a directive.
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")
PLATFORM_ORIGINS_CACHE_KEY = "web:platform-origins"
# Briefly: a newly activated platform can frame our pages within a minute even without the
# save signal (another process, a bulk update), and a page view costs no query.
PLATFORM_ORIGINS_CACHE_SECONDS = 60


def origin_of(url: str) -> str | None:
    """scheme://host[:port] of an http(s) URL, or None for anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    origin = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
    return origin if _ORIGIN.fullmatch(origin) else None


def platform_origins_list() -> list[str]:
    """The origins of active LTI platforms (issuer and authorisation URL): who may frame us."""
    try:
        origins = cache.get(PLATFORM_ORIGINS_CACHE_KEY)
    except BROKER_ERRORS:  # the cache is down: ask the database, page views go on
        origins = None
    if origins is None:
        urls = LtiRegistration.objects.filter(is_active=True).values_list("issuer", "auth_url")
        found = {origin for pair in urls for url in pair if (origin := origin_of(url or ""))}
        origins = sorted(found)
        with contextlib.suppress(*BROKER_ERRORS):
            cache.set(PLATFORM_ORIGINS_CACHE_KEY, origins, PLATFORM_ORIGINS_CACHE_SECONDS)
    return list(origins)
