from django.apps import AppConfig


class TutoringConfig(AppConfig):
    name = "tutoring"
    verbose_name = "Tutoring"

    def ready(self) -> None:
        from eduai.operations.stale_work import StaleWork, stale_work_register
        from eduai.privacy.retention import retention_rule_register

        from . import services
        from .retention import RULE

        retention_rule_register(RULE)
        for kind in (
            StaleWork("tutoring.answers", services.answers_requeue_stale, after=services.STALE_ANSWER_AFTER),
            StaleWork(
                "tutoring.materials", services.materials_requeue_stale, after=services.STALE_MATERIAL_AFTER
            ),
            StaleWork(
                "tutoring.faq-entries", services.faq_entries_requeue_stale, after=services.STALE_FAQ_AFTER
            ),
        ):
            stale_work_register(kind)
