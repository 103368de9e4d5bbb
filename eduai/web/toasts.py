"""Toasts for results that arrive later (a background task finished, a bulk action ran)."""

import json

from django.http import HttpResponse

TOAST_EVENT = "eduai:toast"


def toast_trigger(response: HttpResponse, *, level: str, text: str) -> HttpResponse:
    """Ask the page (htmx's HX-Trigger) to show a toast; eduai.js renders it in #toasts.

    ``level`` is "success", "info" or "error"; errors stay until dismissed.
    """
    if level not in {"success", "info", "error"}:
        raise ValueError(f"unknown toast level {level!r}")
    response["HX-Trigger"] = json.dumps({TOAST_EVENT: {"level": level, "text": str(text)}})
    return response
