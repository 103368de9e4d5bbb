from django.db import models


class ModelVersion(models.Model):
    """One version of a model for a task and scope: the registry the runtime serves from."""

    class Task(models.TextChoices):
        GENERATION = "generation", "Tutor and feedback generation"
        EMBEDDING = "embedding", "Embeddings"
        GRADING_SCORER = "grading_scorer", "Grading scorer"
        RERANKING = "reranking", "Re-ranking of retrieved passages (cross-encoder)"

    class Status(models.TextChoices):
        CANDIDATE = "candidate", "Candidate"
        PRODUCTION = "production", "Production"
        REJECTED = "rejected", "Rejected"
        RETIRED = "retired", "Retired"

    class Backend(models.TextChoices):
        TRANSFORMERS = "transformers", "transformers (CPU or GPU)"
        LLAMA_CPP = "llama_cpp", "llama.cpp on a GGUF file (optional extra)"
        # weights_path holds the server's base URL (…/v1) and name the model it serves.
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible server (vLLM, Ollama, llama-server)"

    task = models.CharField(max_length=32, choices=Task.choices)
    scope = models.CharField(
        max_length=64, blank=True, default="", help_text='Empty for the whole site, or e.g. "assignment:42".'
    )
    name = models.CharField(max_length=255)
    base_model = models.CharField(max_length=255, help_text="What this version was made from.")
    backend = models.CharField(max_length=32, choices=Backend.choices, default=Backend.TRANSFORMERS)
    weights_path = models.CharField(max_length=1024, help_text="Model directory (or file) on the workers.")
    sha256 = models.CharField(
        max_length=64, blank=True, help_text="Checksum of the weights, verified on load (empty for a server)."
    )
    metrics = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.CANDIDATE)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task", "scope", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "scope"],
                condition=models.Q(status="production"),
                name="model_version_one_production_per_task_scope",
            )
        ]

    def __str__(self) -> str:
        scope = f" [{self.scope}]" if self.scope else ""
        return f"{self.get_task_display()}{scope}: {self.name} ({self.status})"


# Fine-tuning records live in their sub-package; imported here so they belong to this app.
from .training.models import TrainingRun, TrainingSnapshot  # noqa: E402

__all__ = ["ModelVersion", "TrainingRun", "TrainingSnapshot"]
