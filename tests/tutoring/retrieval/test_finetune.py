"""Fine-tuning the bundled encoder on question -> passage pairs, then serving it for one course."""

from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from eduai.ml.models import ModelVersion
from tutoring.retrieval import embed_passages, embed_queries, embedding_model_id
from tutoring.retrieval.calibration import relevance_threshold_map
from tutoring.retrieval.embedding import encoder_config_read
from tutoring.retrieval.finetune import FinetuneSettings, encoder_finetune, encoder_register

pytestmark = pytest.mark.django_db

PAIRS = [
    ("What makes the zorblat glow?", "Glowing moss covers the zorblat."),
    ("Why does the quimby hum?", "A quimby hums when wind passes its reeds."),
    ("Where do fennix birds sleep?", "Fennix birds sleep in hollow cliffs."),
    ("What do grumbleweeds eat?", "Grumbleweeds absorb minerals from clay."),
]
CORPUS = ["Rivers carry sand to the sea.", "Ice melts above zero degrees."]


def test_finetuned_encoder_is_a_model_directory_that_serves_a_course_scope(tmp_path):
    base = Path(settings.EDUAI_ENCODER_MODEL)
    options = FinetuneSettings(
        epochs=4, batch_size=4, learning_rate=5e-4, trainable_layers=1, refresh_every=1
    )
    result = encoder_finetune(PAIRS, base=base, output=tmp_path / "encoder", corpus=CORPUS, settings=options)

    assert (result.directory / "config.json").is_file()
    assert (result.directory / "model.safetensors").is_file()
    config = encoder_config_read(result.directory)
    assert config["fine_tuned"]["pairs"] == 4
    assert config["fine_tuned"]["passages"] == 6
    assert result.losses[-1] < result.losses[0]
    assert -1.0 < config["relevance_threshold"] < 1.0

    questions, passages = [q for q, _ in PAIRS], [p for _, p in PAIRS]
    before = np.diag(embed_queries(questions) @ embed_passages(passages).T)
    version_id = encoder_register(directory=result.directory, scope="course:424242")
    assert ModelVersion.objects.get(pk=version_id).status == ModelVersion.Status.PRODUCTION
    assert embedding_model_id(scope="course:424242") == version_id != embedding_model_id()
    after = np.diag(
        embed_queries(questions, scope="course:424242") @ embed_passages(passages, scope="course:424242").T
    )
    assert after.mean() > before.mean()


def test_finetuning_needs_pairs(tmp_path):
    with pytest.raises(ValueError, match="at least two"):
        encoder_finetune(PAIRS[:1], base=Path(settings.EDUAI_ENCODER_MODEL), output=tmp_path / "x")


def test_relevance_threshold_moves_with_the_probe_scores():
    base = np.array([0.1, 0.2, 0.25, 0.4])
    # the base threshold rejects 3 of 4 probes; the new model must reject the same share
    assert relevance_threshold_map(0.3, base, base + 0.2) == pytest.approx(np.quantile(base + 0.2, 0.75))
    assert relevance_threshold_map(0.5, base, base - 0.1) == pytest.approx(0.31)  # all rejected: above max
