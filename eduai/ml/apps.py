from django.apps import AppConfig


class MlConfig(AppConfig):
    name = "eduai.ml"
    label = "ml"
    verbose_name = "Models"

    def ready(self) -> None:
        from eduai.operations.stale_work import StaleWork, stale_work_register
        from eduai.privacy.personal_data import ErasureHook, personal_data_erasure_hook_register

        from .training.services import training_runs_recover, training_stale_after
        from .training.snapshots import snapshots_erase_user

        personal_data_erasure_hook_register(ErasureHook("ml.training-snapshots", snapshots_erase_user))
        stale_work_register(StaleWork("ml.training-runs", training_runs_recover, after=training_stale_after))
