"""LoRA fine-tuning of the tutor generator (peft) on endorsed answers, through the gate."""

from pathlib import Path

import pytest

from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest
from eduai.ml.models import TrainingRun
from eduai.ml.services import bundled_model_ensure
from eduai.ml.training.services import training_run_execute
from eduai.ml.training.snapshots import row_split
from tests.eduai.ml.training.conftest import queued, tutor_course, version_of
from tutoring.models import FaqEntry

pytestmark = pytest.mark.django_db
LORA = {
    "epochs": 1,
    "batch_size": 4,
    "max_length": 64,
    "learning_rate": 2e-3,
    "checkpoint_every": 2,
    "probe_tokens": 8,
}


def test_lora_run_trains_gates_and_is_served(training_dir):
    course = tutor_course(pairs=20)
    while sum(row_split(f"faq:{pk}") == "test" for pk in FaqEntry.objects.values_list("pk", flat=True)) < 3:
        FaqEntry.objects.create(
            course=course, question="What is osmosis, in one line?", answer="Water diffusing."
        )
    base_version = bundled_model_ensure(task="generation")
    run = queued(task="generation", scope=f"course:{course.pk}", reason="test", config=LORA, seed=3)
    assert run.trainer == "lora"
    assert run.snapshot.kind == "tutor"
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.status in (TrainingRun.Status.PROMOTED, TrainingRun.Status.REJECTED), run.log + run.error
    gate = version_of(run).metrics["gate"]
    assert gate["test_rows"] >= 3
    assert gate["candidate_loss"] < gate["production_loss"]  # it learnt the endorsed answers' wording
    assert set(gate["candidate_safety"]) == {"moderation_flagged", "answer_leaks", "leak_probes"}
    assert version_of(run).base_model == base_version.name
    directory = Path(version_of(run).weights_path)
    assert (directory / "model.safetensors").exists()
    assert not (directory / "adapter_config.json").exists()
    if run.status == TrainingRun.Status.PROMOTED:
        # Scope "course:<id>": the runtime serves the merged model for that course.
        answer = runtime.generate(
            GenerationRequest(messages=[{"role": "user", "content": "What is osmosis?"}], max_new_tokens=8),
            scope=run.scope,
        )
        assert answer.completion_tokens > 0
        assert runtime.loaded_version_ids()[("generation", run.scope)] == version_of(run).pk
