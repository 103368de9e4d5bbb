from django.contrib import admin

from .models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin[WorkerHeartbeat]):
    list_display = ["queue", "worker", "received_at", "lag"]
    list_filter = ["queue"]
    search_fields = ["worker"]
    readonly_fields = ["queue", "worker", "sent_at", "received_at"]

    @admin.display(description="queue lag (s)")
    def lag(self, heartbeat: WorkerHeartbeat) -> str:
        return f"{heartbeat.lag_seconds:.1f}"

    def has_add_permission(self, request: object) -> bool:
        return False
