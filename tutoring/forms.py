from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from eduai.documents import SUFFIXES

from .models import TutorSettings


class MaterialForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=255, required=False)
    text = forms.CharField(
        label=_("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("Paste the material's text, or upload a file instead."),
    )
    file = forms.FileField(
        label=_("File"),
        required=False,
        help_text=_("Text, Markdown, HTML, PDF or Word (.docx), at most %(megabytes)s MB.")
        % {"megabytes": settings.UPLOAD_MAX_BYTES // (1024 * 1024)},
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(SUFFIXES)}),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not cleaned.get("file") and not (cleaned.get("text") or "").strip():
            raise forms.ValidationError(_("Paste the material's text or choose a file."))
        return cleaned


class TutorSettingsForm(forms.ModelForm[TutorSettings]):
    class Meta:
        model = TutorSettings
        fields = ["enabled", "mode", "instructions", "daily_quota", "burst_limit"]
        labels = {
            "enabled": _("Tutor on"),
            "mode": _("Mode"),
            "instructions": _("Instructions for the tutor"),
            "daily_quota": _("Questions per student per day"),
            "burst_limit": _("Questions per student per minute"),
        }
        help_texts = {
            "instructions": _("Added to the tutor's system prompt, e.g. the course's level or tone."),
        }
        widgets = {"instructions": forms.Textarea(attrs={"rows": 4})}


class EndorseForm(forms.Form):
    answer = forms.CharField(
        label=_("Endorsed answer"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Keep the tutor's answer or correct it; students asking the same question get this answer."
        ),
    )
