from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        from eduai.operations.stale_work import StaleWork, stale_work_register

        from .next_step_services import PENDING_RETRY_AFTER, next_steps_requeue_stale

        stale_work_register(
            StaleWork("analytics.next-steps", next_steps_requeue_stale, after=PENDING_RETRY_AFTER)
        )
