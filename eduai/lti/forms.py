from decimal import Decimal
from typing import Any

from django import forms


class DeepLinkForm(forms.Form):
    """What an instructor places in the LMS course: the course tutor, or a new AI-graded assignment."""

    KIND_CHOICES = [("tutor", "The course's AI tutor"), ("assignment", "A new AI-graded assignment")]

    launch_id = forms.CharField(widget=forms.HiddenInput)
    kind = forms.ChoiceField(choices=KIND_CHOICES, widget=forms.RadioSelect, initial="tutor")
    title = forms.CharField(max_length=255, required=False)
    prompt = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), required=False, label="Question or task"
    )
    max_score = forms.DecimalField(
        min_value=Decimal("0.01"),
        max_value=Decimal("99999"),
        decimal_places=2,
        initial=10,
        label="Maximum score",
    )

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if cleaned.get("kind") == "assignment":
            for field in ("title", "prompt"):
                if not (cleaned.get(field) or "").strip():
                    self.add_error(field, "An assignment needs this.")
        return cleaned
