from django.apps import AppConfig


class MlConfig(AppConfig):
    name = "eduai.ml"
    label = "ml"
    verbose_name = "Models"
