from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from eduai.documents import SUFFIXES

from .models import TutorSettings
from .services import FAQ_ANSWER_MAX_CHARACTERS, MAX_QUESTION_CHARACTERS


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
        max_length=FAQ_ANSWER_MAX_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Keep the tutor's answer or correct it; students asking the same question get this answer."
        ),
    )


class MaterialEditForm(MaterialForm):
    """Editing a material: a pasted one's title and text, an uploaded one's title and file.

    The text or the file is checked like an upload's (``eduai.documents``) when it is saved.
    """

    def __init__(self, *args: Any, uploaded: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.uploaded = uploaded
        del self.fields["text" if uploaded else "file"]
        if not uploaded:
            self.fields["text"].help_text = ""  # the upload form's hint offers a file instead
        if uploaded:
            self.fields["file"].help_text = _("Choose a new file to replace this one, or leave it empty.")
            self.fields["file"].label = _("New file")

    def clean(self) -> dict[str, Any]:
        cleaned = forms.Form.clean(self) or {}
        if not self.uploaded and not (cleaned.get("text") or "").strip():
            raise forms.ValidationError(_("Paste the material's text."))
        if self.uploaded and not cleaned.get("file") and not (cleaned.get("title") or "").strip():
            raise forms.ValidationError(_("Give a new title or choose a new file."))
        return cleaned


class FaqEntryForm(forms.Form):
    """An instructor's edit of an FAQ entry (limits as the endorse API's)."""

    question = forms.CharField(
        label=_("Question"), max_length=MAX_QUESTION_CHARACTERS, widget=forms.Textarea(attrs={"rows": 2})
    )
    answer = forms.CharField(
        label=_("Answer"),
        max_length=FAQ_ANSWER_MAX_CHARACTERS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Students asking this question get this answer."),
    )
