from django.db.models import QuerySet

from .models import WorkerHeartbeat


def heartbeat_list() -> QuerySet[WorkerHeartbeat]:
    return WorkerHeartbeat.objects.order_by("queue", "-received_at")
