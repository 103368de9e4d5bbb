from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "eduai.lti"
    label = "lti"
    verbose_name = "LTI 1.3"

    def ready(self) -> None:
        from eduai.operations.stale_work import StaleWork, stale_work_register

        from .services import STALE_PASSBACK_AFTER, score_passback_requeue_stale

        stale_work_register(
            StaleWork("lti.score-passbacks", score_passback_requeue_stale, after=STALE_PASSBACK_AFTER)
        )
