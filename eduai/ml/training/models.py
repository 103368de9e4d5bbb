"""Fine-tuning records: dataset snapshots and training runs (app label ``ml``; imported by
``eduai/ml/models.py`` so the migrations live in ``eduai/ml/migrations``)."""

from django.conf import settings
from django.db import models


class TrainingSnapshot(models.Model):
    """One frozen, pseudonymised copy of a scope's training data: a JSONL file under
    ``var/training/snapshots/`` with its sha256, row counts and the split of every row."""

    task = models.CharField(max_length=32, help_text="The ModelVersion task the data trains.")
    scope = models.CharField(max_length=64, blank=True, default="")
    kind = models.CharField(max_length=32, help_text='The data source: "grading" or "tutor".')
    path = models.CharField(max_length=1024, help_text="The JSONL file (one row per line).")
    content_hash = models.CharField(max_length=64)
    row_count = models.PositiveIntegerField(default=0)
    split_counts = models.JSONField(default=dict, help_text='{"train": n, "validation": n, "test": n}')
    # Rows the source had when this snapshot was built (threshold trigger counts new ones from here).
    source_count = models.PositiveIntegerField(default=0)
    redactions = models.JSONField(default=dict, blank=True, help_text="Personal data replaced, by kind.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "scope", "content_hash"], name="training_snapshot_unique_content"
            )
        ]

    def __str__(self) -> str:
        scope = f" [{self.scope}]" if self.scope else ""
        return f"{self.kind}{scope} snapshot {self.content_hash[:12]} ({self.row_count} rows)"


class TrainingRun(models.Model):
    """One fine-tuning run of a task and scope: progress, log, checkpoints and its outcome."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Trained, not evaluated yet"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected by the evaluation gate"
        PROMOTED = "promoted", "Promoted to production"

    ACTIVE = (Status.QUEUED, Status.RUNNING)
    FINISHED = (Status.FAILED, Status.CANCELLED, Status.REJECTED, Status.PROMOTED)

    task = models.CharField(max_length=32)
    scope = models.CharField(max_length=64, blank=True, default="")
    snapshot = models.ForeignKey(TrainingSnapshot, on_delete=models.PROTECT, related_name="runs")
    trainer = models.CharField(max_length=32, help_text="Which trainer (eduai/ml/training/trainers.py).")
    config = models.JSONField(
        default=dict, blank=True, help_text="Hyper-parameters (trainer defaults otherwise)."
    )
    seed = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=32, blank=True, help_text="nightly, threshold, admin, ...")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    # Progress, written by the worker at most every few seconds and at every checkpoint.
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    epoch = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    eta_seconds = models.PositiveIntegerField(null=True, blank=True)
    checkpoint_step = models.PositiveIntegerField(default=0, help_text="Step of the last checkpoint.")
    checkpoint_dir = models.CharField(max_length=1024, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="host:pid of the process running it.")
    attempts = models.PositiveIntegerField(default=0, help_text="Times a worker started or resumed it.")
    cancel_requested = models.BooleanField(default=False)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    model_version = models.ForeignKey(
        "ml.ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="training_runs"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The lock: at most one queued or running run per task and scope.
            models.UniqueConstraint(
                fields=["task", "scope"],
                condition=models.Q(status__in=["queued", "running"]),
                name="training_run_one_active_per_scope",
            )
        ]

    def __str__(self) -> str:
        scope = f" [{self.scope}]" if self.scope else ""
        return f"Training run {self.pk} {self.task}{scope} ({self.status})"
