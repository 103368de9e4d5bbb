from django.http import HttpRequest

from .languages import request_launch_language


def page_language(request: HttpRequest) -> dict[str, str | None]:
    """The launch's language for base.html; on the launch request itself no middleware saw the
    launch yet (the view validates it), so the template switches language instead."""
    return {"page_language": request_launch_language(request)}
