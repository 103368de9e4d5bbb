"""Score a test CSV with the product's grading scorers and print their agreement with the grades."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from grading.scoring.embeddings import embedding_cache
from grading.scoring.evaluation import EvaluationError, evaluation_run


class Command(BaseCommand):
    help = (
        "Train per-prompt scorers on --train (prompts without training rows use the cold-start "
        "model), score --test, write item_id,prompt_id,predicted_score,confidence to --out, and "
        "print QWK per prompt and the mean, Pearson r and the QWK of the most-confident 50%."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", type=Path, required=True, help="graded answers (may be empty)")
        parser.add_argument("--test", type=Path, required=True, help="answers to score (score may be empty)")
        parser.add_argument("--out", type=Path, required=True, help="where to write the predictions CSV")
        parser.add_argument(
            "--embedding-cache",
            type=Path,
            default=None,
            help="directory that keeps the answers' embeddings between runs (e.g. var/grading_eval)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        def log(message: str) -> None:
            self.stdout.write(message)

        try:
            if options["embedding_cache"] is not None:
                with embedding_cache(options["embedding_cache"]):
                    evaluation_run(options["train"], options["test"], options["out"], log=log)
            else:
                evaluation_run(options["train"], options["test"], options["out"], log=log)
        except EvaluationError as error:
            raise CommandError(str(error)) from error
