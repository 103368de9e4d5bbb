import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .feedback import FIELDS
from .models import Assignment
from .selectors import ReviewCriterion
from .services import SUBMISSION_SUFFIXES


class SubmitForm(forms.Form):
    """A student's answer: typed text, a file, or both (checked in services.submission_create)."""

    text = forms.CharField(label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 6}), required=False)
    file = forms.FileField(
        label=_("Or upload a file"),
        required=False,
        help_text=_("Text, Markdown, Word or PDF."),
        # The browser's file picker offers the types submission_create accepts.
        widget=forms.FileInput(attrs={"accept": ",".join(SUBMISSION_SUFFIXES)}),
    )


def _rubric_from_text(text: str) -> list[dict[str, Any]]:
    """A rubric as JSON, or one criterion per line: ``name | points | description``."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        try:
            rubric = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"The rubric is not valid JSON: {error.msg} (line {error.lineno})."
            ) from None
        if not isinstance(rubric, list):
            raise forms.ValidationError("The rubric must be a list of criteria.")
        return rubric
    criteria = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) < 2:
            raise forms.ValidationError(
                f"Rubric line {number} needs “name | points”, optionally “| description”."
            )
        criteria.append({"name": parts[0], "points": parts[1], "description": " | ".join(parts[2:])})
    return criteria


def rubric_as_text(rubric: list[dict[str, Any]]) -> str:
    if any(criterion.get("levels") for criterion in rubric):
        return json.dumps(rubric, indent=2, ensure_ascii=False)
    return "\n".join(
        " | ".join(
            part
            for part in (criterion["name"], f"{criterion['points']:g}", criterion.get("description", ""))
            if part
        )
        for criterion in rubric
    )


REFERENCE_SEPARATOR = "---"


class AssignmentForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=[("short_answer", _("Short answer")), ("essay", _("Essay"))]
    )
    prompt = forms.CharField(label=_("Question or task"), widget=forms.Textarea(attrs={"rows": 4}))
    rubric = forms.CharField(
        label=_("Rubric"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "One criterion per line: name | points | description. Points add up to the maximum score."
        ),
    )
    reference_answers = forms.CharField(
        label=_("Reference answers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("Never shown to students. Separate several answers with a line of three dashes (---)."),
    )
    min_score = forms.DecimalField(
        label=_("Minimum score"), min_value=0, max_digits=7, decimal_places=2, initial=0
    )
    max_score = forms.DecimalField(
        label=_("Maximum score"), min_value=Decimal("0.01"), max_digits=7, decimal_places=2, initial=10
    )
    release_policy = forms.ChoiceField(
        label=_("Release of grades"),
        choices=[
            ("manual", _("After an instructor approves each grade")),
            ("auto", _("Automatically when the AI is confident enough")),
        ],
    )
    auto_release_confidence = forms.FloatField(
        label=_("Confidence threshold for automatic release"), min_value=0, max_value=1, initial=0.9
    )
    max_attempts = forms.IntegerField(
        label=_("Attempts allowed"), min_value=0, initial=1, help_text=_("0 allows any number.")
    )
    due_at = forms.DateTimeField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    accept_late = forms.BooleanField(
        label=_("Accept late work (flagged as late)"), required=False, initial=True
    )

    def clean_rubric(self) -> list[dict[str, Any]]:
        return _rubric_from_text(self.cleaned_data.get("rubric") or "")

    def clean_reference_answers(self) -> list[str]:
        text = self.cleaned_data.get("reference_answers") or ""
        blocks = [block.strip() for block in text.replace("\r\n", "\n").split(f"\n{REFERENCE_SEPARATOR}\n")]
        return [block for block in blocks if block and block != REFERENCE_SEPARATOR]

    @staticmethod
    def initial_for(assignment: Assignment) -> dict[str, Any]:
        return {
            "title": assignment.title,
            "kind": assignment.kind,
            "prompt": assignment.prompt,
            "rubric": rubric_as_text(assignment.rubric),
            "reference_answers": f"\n{REFERENCE_SEPARATOR}\n".join(assignment.reference_answers),
            "min_score": assignment.min_score,
            "max_score": assignment.max_score,
            "release_policy": assignment.release_policy,
            "auto_release_confidence": assignment.auto_release_confidence,
            "max_attempts": assignment.max_attempts,
            "due_at": assignment.due_at,
            "accept_late": assignment.accept_late,
        }


@dataclass(frozen=True)
class CriterionFields:
    """One criterion's inputs in the override form: its points and its feedback lines."""

    criterion: ReviewCriterion
    points: forms.BoundField
    lines: list[forms.BoundField]


class OverrideForm(forms.Form):
    """The instructor's score and comment, and per criterion (``criteria``) the feedback lines,
    prefilled with the AI's, and optional points. Checked in services.grade_override."""

    score = forms.CharField(label=_("Score"), max_length=32)
    comment = forms.CharField(
        label=_("Comment to the student"), required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    keep_ai_feedback = forms.BooleanField(
        label=_("Keep the AI feedback per criterion"), required=False, initial=True
    )

    LINE_LABELS = {"strengths": _("Strengths"), "missing": _("What is missing"), "next_step": _("Next step")}

    def __init__(self, *args: Any, criteria: Sequence[ReviewCriterion] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.criteria = list(criteria)
        for number, criterion in enumerate(self.criteria):
            attrs = {"inputmode": "decimal"}
            if criterion.ai_score is not None:
                attrs["aria-describedby"] = f"points-hint-{number}"
            self.fields[f"points_{number}"] = forms.CharField(
                label=_("Points (0 to %(high)s)") % {"high": f"{criterion.max_points:g}"},
                required=False,
                max_length=32,
                widget=forms.TextInput(attrs=attrs),
            )
            for field in FIELDS:
                self.fields[f"{field}_{number}"] = forms.CharField(
                    label=self.LINE_LABELS[field],
                    required=False,
                    initial=criterion.feedback[field],
                    widget=forms.Textarea(attrs={"rows": 2}),
                )

    def criterion_fields(self) -> list[CriterionFields]:
        return [
            CriterionFields(
                criterion=criterion,
                points=self[f"points_{number}"],
                lines=[self[f"{field}_{number}"] for field in FIELDS],
            )
            for number, criterion in enumerate(self.criteria)
        ]

    def feedback_edits(self) -> list[dict[str, str]]:
        """Every criterion's lines as posted (the service keeps track of what changed); a box
        not posted at all is no edit."""
        return [
            {
                "criterion": criterion.name,
                **{
                    field: self.cleaned_data[f"{field}_{number}"]
                    for field in FIELDS
                    if self.add_prefix(f"{field}_{number}") in self.data
                },
            }
            for number, criterion in enumerate(self.criteria)
        ]

    def criterion_scores(self) -> dict[str, str] | None:
        """The points per criterion, or None when every box is empty."""
        points = {
            criterion.name: self.cleaned_data[f"points_{number}"].strip()
            for number, criterion in enumerate(self.criteria)
        }
        return points if any(points.values()) else None
