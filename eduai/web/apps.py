from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web UI shell: base layout, reusable components, languages and security headers."""

    name = "eduai.web"
    label = "web"

    def ready(self) -> None:
        from . import signals  # noqa: F401 - connects the frame-ancestors cache invalidation
