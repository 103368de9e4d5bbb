"""The project's URLs plus canned tutor answers, for the component gallery's chat.

Test-only. They follow eduai/ml's protocol: POST the conversation as JSON (CSRF-protected, as
``/api/v1/generations/`` is), get 202 with ``events_url``, read ``token`` events from it, then
``end`` or ``error``.
"""

import json
import time
import uuid
from collections.abc import Iterator
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from eduai.urls import urlpatterns as project_urlpatterns
from eduai.web.views import DEMO_CHAT_START_URL_NAME

# Markup in a piece must arrive as text, never as HTML.
CANNED_PIECES = ["Osmosis ", "moves ", "water ", "across ", "a ", "membrane ", "<b>towards</b> ", "salt."]
CANNED_ANSWER = "".join(CANNED_PIECES)
FAILURE_MESSAGE = "The model worker stopped."


def _event(name: str, data: dict[str, object]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def _answer(message: str) -> Iterator[str]:
    for piece in CANNED_PIECES:
        yield _event("token", {"text": piece})
        time.sleep(0.12)  # slow enough that a test sees the answer grow
    if "fail" in message:
        yield _event("error", {"message": FAILURE_MESSAGE})
        return
    yield _event("end", {"completion_tokens": len(CANNED_PIECES)})


def chat_stream(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    message = request.GET.get("message", "").strip()
    if not message:
        return HttpResponseBadRequest("message is required")
    response = StreamingHttpResponse(_answer(message), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    return response


@require_POST
def chat_start(request: HttpRequest) -> JsonResponse:
    try:
        messages = json.loads(request.body)["messages"]
        question = messages[-1]["content"] if messages[-1]["role"] == "user" else ""
    except (ValueError, KeyError, IndexError, TypeError):
        question = ""
    if not question:
        return JsonResponse({"detail": "messages must end with the user's question"}, status=400)
    # The stream sees the whole conversation's length, so a test can tell history was sent.
    query = urlencode({"message": question, "turns": len(messages)})
    events_url = f"{reverse('test-chat-stream')}?{query}"
    return JsonResponse({"id": str(uuid.uuid4()), "events_url": events_url}, status=202)


urlpatterns = [
    path("test/chat/", chat_start, name=DEMO_CHAT_START_URL_NAME),
    path("test/chat-stream/", chat_stream, name="test-chat-stream"),
    *project_urlpatterns,
]
