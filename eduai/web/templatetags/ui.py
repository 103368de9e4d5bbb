"""The UI components, one inclusion tag each; templates in eduai/templates/components/.

Load with ``{% load ui %}``. Every tag takes an ``id`` so that labels, live regions and ARIA
references stay unique when a page shows the same component twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django import forms, template
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from eduai.courses.models import Enrollment

from ..charts import BarChart, bar_chart_build

register = template.Library()

# Enrollment.Role's labels are plain English; the header shows these instead.
_ROLE_LABELS = {
    Enrollment.Role.LEARNER: pgettext_lazy("course role", "Student"),
    Enrollment.Role.INSTRUCTOR: pgettext_lazy("course role", "Instructor"),
    Enrollment.Role.TEACHING_ASSISTANT: pgettext_lazy("course role", "Teaching assistant"),
}


@dataclass(frozen=True)
class ChatMessage:
    author: str  # "student" or "tutor"
    text: str


@dataclass(frozen=True)
class ReviewRow:
    id: str
    cells: Sequence[str]


@register.filter
def role_label(role: str) -> str:
    return str(_ROLE_LABELS.get(Enrollment.Role(role), role)) if role in Enrollment.Role.values else role


@register.inclusion_tag("components/chat_thread.html")
def chat_thread(
    *, id: str, start_url: str | None, messages: Sequence[ChatMessage] = (), title: str = ""
) -> dict[str, Any]:
    """A conversation whose answers stream in over Server-Sent Events.

    Asking posts the conversation as JSON to ``start_url`` (``{"messages": [{"role": "user" or
    "assistant", "content": ...}, ...]}``, with the CSRF token), which answers
    ``{"events_url": ...}`` as eduai/ml's ``POST /api/v1/generations/`` does; the thread then
    reads ``token`` events (``{"text": ...}``) from that URL until ``end``
    (``{"completion_tokens": N}``) or ``error`` (``{"message": ...}``). Without ``start_url``
    the thread is read-only.
    """
    return {"id": id, "start_url": start_url, "messages": messages, "title": title or _("Tutor")}


@register.inclusion_tag("components/submission_form.html", takes_context=True)
def submission_form(
    context: template.Context, *, id: str, form: forms.Form, action_url: str, accepted: str = ""
) -> dict[str, Any]:
    """Text and/or file upload posted by htmx with an upload progress bar; errors stay in place."""
    return {
        "id": id,
        "form": form,
        "action_url": action_url,
        "accepted": accepted,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("components/form_fields.html")
def form_fields(form: forms.Form) -> dict[str, Any]:
    """A form's errors and fields, each with its label, hint and errors (ids from the form's
    own ``auto_id`` and prefix, so two forms on a page stay apart)."""
    return {"form": form}


@register.inclusion_tag("components/review_table.html", takes_context=True)
def review_table(
    context: template.Context,
    *,
    id: str,
    caption: str,
    columns: Sequence[str],
    rows: Sequence[ReviewRow],
    actions: Sequence[tuple[str, str]],
    action_url: str,
) -> dict[str, Any]:
    """Rows with a checkbox each and bulk actions on the checked ones (posted by htmx)."""
    return {
        "id": id,
        "caption": caption,
        "columns": columns,
        # Each cell with its column's name: narrow screens show the table as labelled cards.
        "rows": [
            {"id": row.id, "name": row.cells[0], "cells": list(zip(columns, row.cells, strict=True))}
            for row in rows
        ],
        "actions": actions,
        "action_url": action_url,
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("components/bar_chart.html")
def bar_chart(
    *, id: str, title: str, description: str, series: list[tuple[str, float]], maximum: float | None = None
) -> dict[str, Any]:
    """An SVG bar chart with its numbers also in a table, for screen readers and printing."""
    chart: BarChart = bar_chart_build(title=title, description=description, series=series, maximum=maximum)
    return {"id": id, "chart": chart}


@register.inclusion_tag("components/empty_state.html")
def empty_state(
    *, title: str, text: str = "", action_url: str = "", action_label: str = ""
) -> dict[str, Any]:
    return {"title": title, "text": text, "action_url": action_url, "action_label": action_label}


@register.inclusion_tag("components/error_state.html")
def error_state(*, title: str, text: str = "", retry_url: str = "") -> dict[str, Any]:
    return {"title": title, "text": text, "retry_url": retry_url}


@register.inclusion_tag("components/toast.html")
def toast(*, level: str, text: str) -> dict[str, Any]:
    """A toast rendered by the server (a Django message); eduai.js renders the HX-Trigger ones."""
    return {"level": level, "text": text}
