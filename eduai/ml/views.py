from uuid import UUID

from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from .generations import generation_owner
from .streams import stream_events


@require_GET
def generation_events(request: HttpRequest, stream_id: UUID) -> HttpResponseBase:
    """Server-Sent Events of one generation: start, token..., then end or error."""
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "Authentication credentials were not provided."}, status=401)
    if generation_owner(stream_id=stream_id) != request.user.pk:
        return JsonResponse({"detail": "Not found."}, status=404)
    return stream_response(request, stream_id)


def stream_response(request: HttpRequest, stream_id: UUID) -> StreamingHttpResponse:
    """A stream's events as Server-Sent Events, resumed after the client's Last-Event-ID.
    The caller checks that the stream is the user's."""
    after = request.headers.get("Last-Event-ID", "")
    events = (event.as_sse() for event in stream_events(stream_id, after=after))
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
