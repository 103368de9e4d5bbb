from decimal import Decimal

from django.conf import settings
from django.db import models


class Assignment(models.Model):
    """An AI-graded assignment, placed in the LMS as an LTI resource link (and its AGS line item).

    The rubric is a list of criteria, ``{"name", "description", "points", "levels": [{"label",
    "points", "description"}]}``, whose points add up to ``max_score`` (``rubric_validate`` in
    services.py checks it); an empty rubric grades the answer as a whole.
    """

    class Kind(models.TextChoices):
        ESSAY = "essay", "Essay"
        SHORT_ANSWER = "short_answer", "Short answer"

    class ReleasePolicy(models.TextChoices):
        MANUAL = "manual", "Manual: an instructor approves every grade"
        AUTO = "auto", "Automatic above the confidence threshold"

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
    min_score = models.DecimalField(max_digits=7, decimal_places=2, default=Decimal(0))
    max_score = models.DecimalField(max_digits=7, decimal_places=2, default=10)
    release_policy = models.CharField(
        max_length=16, choices=ReleasePolicy.choices, default=ReleasePolicy.MANUAL
    )
    auto_release_confidence = models.FloatField(
        default=0.9, help_text="With automatic release: AI grades at least this confident go out unreviewed."
    )
    max_attempts = models.PositiveIntegerField(default=1, help_text="0 allows any number of resubmissions.")
    due_at = models.DateTimeField(null=True, blank=True)
    accept_late = models.BooleanField(default=True, help_text="Late work is accepted and flagged.")
    # How many confirmed grades the last per-assignment scorer training started from.
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "title"]
        constraints = [
            models.CheckConstraint(condition=models.Q(max_score__gt=0), name="assignment_max_score_positive"),
            models.CheckConstraint(
                condition=models.Q(min_score__gte=0) & models.Q(min_score__lt=models.F("max_score")),
                name="assignment_score_range_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(auto_release_confidence__gte=0) & models.Q(auto_release_confidence__lte=1),
                name="assignment_auto_release_confidence_0_1",
            ),
        ]

    def __str__(self) -> str:
        return self.title


def submission_upload_to(instance: "Submission", filename: str) -> str:
    return f"submissions/{instance.assignment_id}/{instance.student_id}/{filename}"


class Submission(models.Model):
    """A student's answer. Stored (with the uploaded file as sent) before anything else happens,
    so it is never lost; text extraction and scoring come after."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        UNREADABLE = "unreadable", "Unreadable file"
        QUEUED = "queued", "Waiting for the AI grade"
        SCORED = "scored", "AI-graded, waiting for review"
        FAILED = "failed", "AI grading failed"
        # Over an AI scoring limit (GRADING_SCORING_DAILY_*): kept for the instructor to grade or
        # send to AI scoring ("Rescore"); never dropped.
        HELD = "held", "Held: over the AI scoring limit"

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="submissions")
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    text = models.TextField(blank=True)
    file = models.FileField(upload_to=submission_upload_to, blank=True, max_length=500)
    filename = models.CharField(max_length=255, blank=True, help_text="The uploaded file's name as sent.")
    attempt = models.PositiveIntegerField(default=1)
    is_late = models.BooleanField(default=False)
    # A later attempt of the same student replaces this one in the review queue.
    superseded = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True, help_text="Why the file could not be read or scored.")
    submitted_at = models.DateTimeField(auto_now_add=True)
    # When it was last sent to AI scoring; a submission still queued long after is sent again.
    queued_at = models.DateTimeField(null=True, blank=True)
    # The grade the student sees (and the LMS got): set once, on approval or automatic release.
    released_score = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    released_feedback = models.JSONField(default=list, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["assignment", "student"], name="submission_assignment_student"),
            models.Index(fields=["status", "queued_at"], name="submission_status_queued_at"),
            models.Index(fields=["submitted_at"], name="submission_submitted_at"),
        ]

    def __str__(self) -> str:
        return f"{self.student} on {self.assignment} (attempt {self.attempt})"


class AiGrade(models.Model):
    """The model's grade of a submission: score, per-criterion scores and evidence, confidence,
    which model gave it, and the feedback written for the student."""

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="ai_grade")
    score = models.DecimalField(max_digits=7, decimal_places=2)
    confidence = models.FloatField()
    # [{"name", "score", "max_points", "met", "evidence"}], one per rubric criterion.
    criteria = models.JSONField(default=list)
    # None: the site-wide cold-start scorer (built in, not a registered version).
    model_version = models.ForeignKey(
        "ml.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="ai_grades"
    )
    model_name = models.CharField(max_length=255)
    # [{"criterion", "strengths", "missing", "next_step", "source": "model" | "template"}]
    feedback = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["confidence"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1),
                name="aigrade_confidence_0_1",
            )
        ]

    def __str__(self) -> str:
        return f"AI grade {self.score} ({self.confidence:.2f}) for {self.submission}"


class ConfirmedGrade(models.Model):
    """An instructor's approval or override of an AI grade: the grade of record, and training
    data for the per-assignment scorer."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        OVERRIDDEN = "overridden", "Overridden"

    submission = models.OneToOneField(Submission, on_delete=models.CASCADE, related_name="confirmed_grade")
    score = models.DecimalField(max_digits=7, decimal_places=2)
    feedback = models.JSONField(default=list, blank=True)
    decision = models.CharField(max_length=16, choices=Decision.choices)
    ai_score = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="confirmed_grades"
    )
    confirmed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-confirmed_at"]

    def __str__(self) -> str:
        return f"{self.score} ({self.decision}) for {self.submission}"
