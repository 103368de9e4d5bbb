"""Next-response correctness of the product's knowledge tracing on a train/test pair of logs."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.knowledge_tracing_evaluation import VARIANTS, evaluate
from analytics.response_logs import FORMATS, ResponseLogError, response_log_read

DEFAULT_VARIANT = "forgetting"


class Command(BaseCommand):
    help = "Fit BKT on --train, print AUC and RMSE of next-response correctness on --test."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--train", type=Path, required=True, help="response log to fit on")
        parser.add_argument("--test", type=Path, required=True, help="response log to evaluate on")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            required=True,
            help="dkt3 or long (student_id,skill_id,correct,order)",
        )
        parser.add_argument(
            "--variant",
            choices=[*VARIANTS, "all"],
            default=DEFAULT_VARIANT,
            help=f"BKT variant (default {DEFAULT_VARIANT}); all prints every variant",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            train = response_log_read(options["train"], options["format"])
            test = response_log_read(options["test"], options["format"])
        except ResponseLogError as error:
            raise CommandError(str(error)) from error
        variants = VARIANTS if options["variant"] == "all" else (options["variant"],)
        self.stdout.write(f"train {len(train)} responses, test {len(test)} responses")
        self.stdout.write(f"{'variant':<16}{'AUC':>8}{'RMSE':>8}")
        for variant in variants:
            result = evaluate(train, test, variant)
            self.stdout.write(f"{variant:<16}{result.auc:>8.4f}{result.rmse:>8.4f}")
