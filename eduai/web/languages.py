"""Which of our languages a locale asks for (the LTI launch's, then the browser's), and which one
a text is written in."""

import re

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
from lti_tool.models import LtiLaunch


def language_from_locale(locale: str) -> str | None:
    """Our language code for a BCP 47 / POSIX locale ("zh-CN", "zh_Hans_CN", "en-US"), or None.

    Chinese written in simplified script (mainland China, Singapore, or an explicit Hans) maps to
    zh-hans; a traditional-script locale (zh-TW, zh-HK, zh-Hant) has no translation yet and so
    falls through to the browser's languages instead of getting the wrong script.
    """
    parts = [part.lower() for part in locale.replace("_", "-").split("-") if part]
    if not parts:
        return None
    if parts[0] == "zh":
        rest = set(parts[1:])
        if rest & {"hant", "tw", "hk", "mo"}:
            return None
        return "zh-hans"
    supported = {code for code, _name in settings.LANGUAGES}
    return parts[0] if parts[0] in supported else None


PRESENTATION_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation"


def _presentation_language(presentation: object) -> str | None:
    locale = presentation.get("locale") if isinstance(presentation, dict) else None
    return language_from_locale(locale) if isinstance(locale, str) else None


def launch_language(lti_launch: LtiLaunch | object) -> str | None:
    """The language the LMS asked for in the launch's launch_presentation.locale, if we have it."""
    if not isinstance(lti_launch, LtiLaunch):
        return None
    return _presentation_language(lti_launch.launch_presentation_claim)


def request_launch_language(request: HttpRequest) -> str | None:
    """The launch language of a request: of the launch the view validated, or else of the
    session's launch, from its cached claims (``LtiLaunchMiddleware``), so that choosing the
    language does not restore the launch (its registration check is two queries)."""
    lti_launch = getattr(request, "lti_launch", None)
    if type(lti_launch) is not SimpleLazyObject:
        return launch_language(lti_launch)
    data = getattr(request, "lti_launch_data", None) or {}
    return _presentation_language(data.get(PRESENTATION_CLAIM))


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def written_language(text: str) -> str:
    """The language of ours a piece of text is written in: Chinese when Han characters are at
    least as many as Latin-script words ("DNA 是什么?" is Chinese), else the default language.
    Enough to answer a student in their own language; not a general language detector."""
    han = len(_HAN.findall(text))
    if han and han >= len(_LATIN_WORD.findall(text)):
        return "zh-hans"
    return str(settings.LANGUAGE_CODE)
