from django.conf import settings
from django.db import models
from django.utils import timezone


class ScorePassback(models.Model):
    """One score on its way to the LMS gradebook: an outbox row, posted through AGS until acknowledged.

    The row is written in the same transaction as the grade it carries, so a score is never lost
    when the LMS is down; the task that posts it claims it first, so it is never posted twice.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    class ActivityProgress(models.TextChoices):
        INITIALIZED = "Initialized", "Initialized"
        STARTED = "Started", "Started"
        IN_PROGRESS = "InProgress", "In progress"
        SUBMITTED = "Submitted", "Submitted"
        COMPLETED = "Completed", "Completed"

    class GradingProgress(models.TextChoices):
        FULLY_GRADED = "FullyGraded", "Fully graded"
        PENDING = "Pending", "Pending"
        PENDING_MANUALLY = "PendingManual", "Pending manual"
        FAILED = "Failed", "Failed"
        NOT_READY = "NotReady", "Not ready"

    assignment = models.ForeignKey(
        "grading.Assignment", on_delete=models.CASCADE, related_name="score_passbacks"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="score_passbacks"
    )
    score_given = models.DecimalField(max_digits=7, decimal_places=2)
    score_maximum = models.DecimalField(max_digits=7, decimal_places=2)
    comment = models.TextField(blank=True)
    activity_progress = models.CharField(
        max_length=16, choices=ActivityProgress.choices, default=ActivityProgress.COMPLETED
    )
    grading_progress = models.CharField(
        max_length=16, choices=GradingProgress.choices, default=GradingProgress.FULLY_GRADED
    )
    # The AGS score timestamp, fixed when the row is written: should a post be repeated after a
    # worker died mid-call, the LMS sees the same timestamp and keeps one result, not two.
    scored_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "updated_at"], name="scorepassback_status_updated")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score_given__gte=0) & models.Q(score_maximum__gt=0),
                name="scorepassback_scores_valid",
            )
        ]

    def __str__(self) -> str:
        return (
            f"{self.score_given}/{self.score_maximum} for {self.student} on {self.assignment} ({self.status})"
        )


class RosterSync(models.Model):
    """The last roster (NRPS) sync of a course, for admins: when, how many, and what failed."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    course = models.OneToOneField("courses.Course", on_delete=models.CASCADE, related_name="roster_sync")
    status = models.CharField(max_length=16, choices=Status.choices)
    active_members = models.PositiveIntegerField(default=0)
    inactive_members = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    attempted_at = models.DateTimeField()
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-attempted_at"]

    def __str__(self) -> str:
        return f"Roster of {self.course}: {self.status}"
