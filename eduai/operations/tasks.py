from datetime import datetime
from typing import Any

from celery import Task, shared_task
from django.utils import timezone

from eduai.celery import IDEMPOTENT, RETRY_TRANSIENT, Queue

from .services import heartbeat_record
from .stale_work import stale_work_requeue as stale_work_requeue_service


@shared_task(soft_time_limit=20, time_limit=30, **IDEMPOTENT, **RETRY_TRANSIENT)
def send_heartbeats() -> list[str]:
    """Beat runs this every minute: one heartbeat into each queue shows which queues are served."""
    sent_at = timezone.now().isoformat()
    for queue in Queue:
        # Expires before the next round, so a queue without workers does not pile them up.
        record_heartbeat.apply_async((queue.value, sent_at), queue=queue.value, expires=55)
    return [queue.value for queue in Queue]


@shared_task(bind=True, soft_time_limit=20, time_limit=30, **IDEMPOTENT, **RETRY_TRANSIENT)
def record_heartbeat(self: Task[Any, Any], queue: str, sent_at: str) -> int:
    """Record that a worker consuming ``queue`` answered the heartbeat sent at ``sent_at``."""
    if queue not in set(Queue):
        raise ValueError(f"Unknown queue {queue!r}; expected one of {', '.join(Queue)}.")
    sent = datetime.fromisoformat(sent_at)
    heartbeat = heartbeat_record(queue=queue, worker=self.request.hostname or "unknown", sent_at=sent)
    return heartbeat.pk


@shared_task(soft_time_limit=120, time_limit=150, **IDEMPOTENT, **RETRY_TRANSIENT)
def stale_work_requeue() -> dict[str, int]:
    """Beat: send again the durable work whose task the broker lost (eduai/operations/stale_work.py)."""
    return stale_work_requeue_service()
