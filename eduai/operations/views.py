from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .checks import readiness_checks
from .selectors import heartbeat_list


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process is up and answering. Touches nothing else."""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: database, cache, broker and configured models; 503 when any is missing."""
    checks = {check.name: check for check in readiness_checks()}
    ready = all(check.ok for check in checks.values())
    workers = []
    if checks["database"].ok:
        workers = [
            {"queue": beat.queue, "worker": beat.worker, "received_at": beat.received_at.isoformat()}
            for beat in heartbeat_list()
        ]
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: {"ok": check.ok, "detail": check.detail} for name, check in checks.items()},
        # Informational: workers may start after the web process; queued work waits for them.
        "workers": workers,
    }
    return JsonResponse(body, status=200 if ready else 503)
