from django.apps import AppConfig


class TutoringConfig(AppConfig):
    name = "tutoring"
    verbose_name = "Tutoring"

    def ready(self) -> None:
        from eduai.privacy.retention import retention_rule_register

        from .retention import RULE

        retention_rule_register(RULE)
