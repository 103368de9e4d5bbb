"""At-risk prediction on OULAD: AUC of Fail vs Pass per cutoff day (train 2013J, test 2014J)."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analytics.oulad import OuladError, oulad_evaluate, oulad_read


def _cutoffs(value: str) -> list[int]:
    try:
        days = [int(day) for day in value.split(",")]
    except ValueError as error:
        raise CommandError(f"--cutoffs must be comma-separated whole days, not {value!r}") from error
    if any(day < 0 for day in days):
        raise CommandError("--cutoffs must not be negative")
    return days


class Command(BaseCommand):
    help = "Train the at-risk model on OULAD 2013J, print its AUC on 2014J at each cutoff day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--oulad", type=Path, required=True, help="directory of the OULAD CSV files")
        parser.add_argument("--cutoffs", default="0,30,60,90,120,150", help="days, comma-separated")

    def handle(self, *args: Any, **options: Any) -> None:
        cutoffs = _cutoffs(options["cutoffs"])
        try:
            scores = oulad_evaluate(oulad_read(options["oulad"]), cutoffs)
        except OuladError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"train {scores[0].train} enrolments (2013J), test {scores[0].test} (2014J)")
        self.stdout.write(f"{'cutoff_day':>10}{'AUC':>8}")
        for score in scores:
            self.stdout.write(f"{score.cutoff:>10}{score.auc:>8.4f}")
