import logging
import sys

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from eduai.celery import BROKER_ERRORS
from eduai.web.errors import error_response

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


logger = logging.getLogger(__name__)
DATABASE_RETRY_AFTER_SECONDS = 30
DATABASE_MESSAGE = (
    "The service is briefly unavailable (its database cannot be reached). Nothing you sent "
    "was saved; please try again in a minute."
)
# Redis (cache, LTI launch state, answer streams) or the broker: what was stored in the
# database stays stored, and work waiting for the broker is sent by the beat sweeps.
SERVICE_MESSAGE = (
    "The service is briefly unavailable (a service it needs cannot be reached); please try again in a minute."
)


def server_error(request: HttpRequest) -> HttpResponse:
    """`handler500`: a database, cache or broker that cannot be reached is a 503 (try again),
    anything else a 500.

    Django calls this inside its `except` block, so the exception is `sys.exc_info()`. The page
    renders no template and reads nothing from the database, so it works while that is down.
    A request that failed this way has written nothing: each database write runs in a
    transaction, which the lost connection rolls back.
    """
    error = sys.exc_info()[1]
    database_down = isinstance(error, OperationalError | InterfaceError)
    unavailable = database_down or isinstance(error, BROKER_ERRORS)
    status = 503 if unavailable else 500
    message = "Something went wrong on our side. It has been logged."
    if database_down:
        message = DATABASE_MESSAGE
        logger.error("database unavailable: %s %s: %s", request.method, request.path, error)
    elif unavailable:
        message = SERVICE_MESSAGE
        logger.error("cache or broker unavailable: %s %s: %s", request.method, request.path, error)
    response = error_response(request, status=status, message=message)
    if unavailable:
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
    return response


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 400 for a request it refused before any view (``handler400``): a body whose
    form fields are over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (or with too many fields) is a 413 that
    says so; anything else a 400 that says the request could not be read."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        message = f"The form is too large: at most {limit:,} bytes of fields (files aside) are accepted."
        return error_response(request, status=413, message=message)
    if isinstance(exception, TooManyFieldsSent | TooManyFilesSent):
        return error_response(request, status=413, message="The form has too many fields or files.")
    return error_response(request, status=400, message="The request could not be read.")
