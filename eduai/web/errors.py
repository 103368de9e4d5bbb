"""A bare error response: JSON for the API (and clients asking for JSON), a minimal HTML page
otherwise. It renders no template and reads nothing from the database, so it works while the
database is down, and before any middleware that would touch it."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape


def error_response(request: HttpRequest, *, status: int, message: str) -> HttpResponse:
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(
        "<!doctype html><html lang=en><meta charset=utf-8><title>eduai</title>"
        f"<main><h1>{status}</h1><p>{escape(message)}</p></main></html>",
        status=status,
    )
