from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "eduai.operations"
    label = "operations"
    verbose_name = "Operations"
