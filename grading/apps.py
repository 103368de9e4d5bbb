from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = "Grading"

    def ready(self) -> None:
        from eduai.privacy.retention import retention_rule_register

        from .retention import RULE

        retention_rule_register(RULE)
