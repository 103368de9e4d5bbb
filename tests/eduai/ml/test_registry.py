import pytest
from django.db import IntegrityError

from eduai.ml.models import ModelVersion
from eduai.ml.services import model_version_promote, model_version_register

pytestmark = pytest.mark.django_db


@pytest.fixture
def weights(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"weights")
    return tmp_path


def _register(weights, scope="assignment:1"):
    return model_version_register(
        task=ModelVersion.Task.GRADING_SCORER,
        scope=scope,
        name="scorer",
        base_model="minilm",
        weights_path=weights,
    )


def test_register_records_checksum_as_candidate(weights):
    version = _register(weights)
    assert version.status == ModelVersion.Status.CANDIDATE
    assert len(version.sha256) == 64


def test_promote_retires_the_previous_production_version(weights):
    first = model_version_promote(version=_register(weights))
    second = model_version_promote(version=_register(weights))
    first.refresh_from_db()
    assert first.status == ModelVersion.Status.RETIRED
    assert second.status == ModelVersion.Status.PRODUCTION
    assert second.promoted_at is not None


def test_other_scopes_keep_their_own_production_version(weights):
    model_version_promote(version=_register(weights, scope="assignment:1"))
    model_version_promote(version=_register(weights, scope="assignment:2"))
    assert ModelVersion.objects.filter(status=ModelVersion.Status.PRODUCTION).count() == 2


def test_database_refuses_two_production_versions_for_one_scope(weights):
    model_version_promote(version=_register(weights))
    second = _register(weights)
    second.status = ModelVersion.Status.PRODUCTION
    with pytest.raises(IntegrityError, match="model_version_one_production_per_task_scope"):
        second.save()
