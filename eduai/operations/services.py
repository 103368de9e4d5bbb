from datetime import datetime

from django.utils import timezone

from .models import WorkerHeartbeat


def heartbeat_record(*, queue: str, worker: str, sent_at: datetime) -> WorkerHeartbeat:
    heartbeat, _ = WorkerHeartbeat.objects.update_or_create(
        queue=queue,
        worker=worker,
        defaults={"sent_at": sent_at, "received_at": timezone.now()},
    )
    return heartbeat
