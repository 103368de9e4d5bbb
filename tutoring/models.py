from django.db import models


class Material(models.Model):
    """A piece of course material the tutor answers from."""

    class Kind(models.TextChoices):
        TEXT = "text", "Plain text"
        MARKDOWN = "markdown", "Markdown"
        HTML = "html", "HTML"
        PDF = "pdf", "PDF"
        DOCX = "docx", "Word document"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="materials")
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TEXT)
    text = models.TextField(blank=True, help_text="Extracted text of the material.")
    file = models.FileField(upload_to="materials/%Y/%m/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "title"]

    def __str__(self) -> str:
        return self.title
