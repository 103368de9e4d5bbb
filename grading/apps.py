from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    verbose_name = "Grading"

    def ready(self) -> None:
        from eduai.operations.stale_work import StaleWork, stale_work_register
        from eduai.privacy.retention import retention_rule_register

        from .retention import RULE
        from .services import STALE_SUBMISSION_AFTER, submissions_requeue_stale

        retention_rule_register(RULE)
        stale_work_register(
            StaleWork("grading.submissions", submissions_requeue_stale, after=STALE_SUBMISSION_AFTER)
        )
