from .models import ModelVersion


def model_version_production(*, task: str, scope: str = "") -> ModelVersion | None:
    return ModelVersion.objects.filter(task=task, scope=scope, status=ModelVersion.Status.PRODUCTION).first()
