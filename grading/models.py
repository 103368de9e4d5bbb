from django.conf import settings
from django.db import models


class Assignment(models.Model):
    """An AI-graded assignment, placed in the LMS as an LTI resource link."""

    class Kind(models.TextChoices):
        ESSAY = "essay", "Essay"
        SHORT_ANSWER = "short_answer", "Short answer"

    course = models.ForeignKey("courses.Course", on_delete=models.CASCADE, related_name="assignments")
    resource_link = models.OneToOneField(
        "lti_tool.LtiResourceLink",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignment",
    )
    title = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.SHORT_ANSWER)
    prompt = models.TextField(help_text="The question or task the students see.")
    rubric = models.JSONField(
        default=list,
        blank=True,
        help_text='Criteria: [{"name": ..., "points": ..., "levels": [...]}].',
    )
    reference_answers = models.JSONField(
        default=list, blank=True, help_text="Model answers; never shown to students."
    )
    max_score = models.DecimalField(max_digits=7, decimal_places=2, default=10)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["course", "title"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_score__gt=0), name="assignment_max_score_positive")
        ]

    def __str__(self) -> str:
        return self.title


class Submission(models.Model):
    """A student's answer. Stored before any grading starts, so it is never lost."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    text = models.TextField()
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["assignment", "student"], name="submission_assignment_student")]

    def __str__(self) -> str:
        return f"{self.student} on {self.assignment}"
