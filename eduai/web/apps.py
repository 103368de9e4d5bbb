from django.apps import AppConfig


class WebConfig(AppConfig):
    """The web UI shell: base layout, reusable components, languages and security headers."""

    name = "eduai.web"
    label = "web"

    def ready(self) -> None:
        from eduai.privacy.personal_data import ErasureHook, personal_data_erasure_hook_register
        from eduai.privacy.retention import retention_rule_register

        from . import signals  # noqa: F401 - connects the frame-ancestors cache invalidation
        from .sessions import RETENTION_RULE, sessions_erase_user

        retention_rule_register(RETENTION_RULE)
        personal_data_erasure_hook_register(ErasureHook("web.sessions", sessions_erase_user))
