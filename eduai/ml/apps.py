from django.apps import AppConfig


class MlConfig(AppConfig):
    name = "eduai.ml"
    label = "ml"
    verbose_name = "Models"

    def ready(self) -> None:
        from eduai.privacy.personal_data import ErasureHook, personal_data_erasure_hook_register

        from .training.snapshots import snapshots_erase_user

        personal_data_erasure_hook_register(ErasureHook("ml.training-snapshots", snapshots_erase_user))
