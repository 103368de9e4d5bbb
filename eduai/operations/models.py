from django.db import models


class WorkerHeartbeat(models.Model):
    """The last heartbeat a worker answered on one queue: shows admins which queues are served."""

    queue = models.CharField(max_length=64)
    worker = models.CharField(max_length=255, help_text="Celery hostname of the worker.")
    sent_at = models.DateTimeField(help_text="When the heartbeat was enqueued.")
    received_at = models.DateTimeField(help_text="When the worker ran it.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["queue", "worker"], name="heartbeat_one_row_per_queue_worker")
        ]
        ordering = ["queue", "-received_at"]

    def __str__(self) -> str:
        return f"{self.queue} @ {self.worker}"

    @property
    def lag_seconds(self) -> float:
        """Time the heartbeat waited in the queue: a growing lag means the queue is backed up."""
        return (self.received_at - self.sent_at).total_seconds()
