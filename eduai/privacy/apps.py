from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "eduai.privacy"
    label = "privacy"
    verbose_name = "Privacy"
