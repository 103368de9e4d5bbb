from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "eduai.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (mirrors admin changes of audited models)
