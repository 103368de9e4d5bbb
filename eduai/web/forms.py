from django import forms
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _

SUBMISSION_MAX_BYTES = 5 * 1024 * 1024
SUBMISSION_EXTENSIONS = ["txt", "md", "pdf", "docx", "html"]


class SubmissionForm(forms.Form):
    """A student's answer: typed text, a file, or both; the submission component renders it."""

    text = forms.CharField(
        label=_("Your answer"), widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=20000
    )
    file = forms.FileField(
        label=_("Or upload a file"),
        required=False,
        validators=[FileExtensionValidator(SUBMISSION_EXTENSIONS)],
        help_text=_("Text, Markdown, PDF, Word or HTML, at most 5 MB."),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data.get("file")
        if upload is not None and upload.size > SUBMISSION_MAX_BYTES:
            raise forms.ValidationError(_("This file is larger than 5 MB."))
        return upload

    def clean(self) -> dict[str, object]:
        cleaned: dict[str, object] = super().clean() or {}
        if not str(cleaned.get("text") or "").strip() and not cleaned.get("file"):
            raise forms.ValidationError(_("Type an answer or choose a file."))
        return cleaned
