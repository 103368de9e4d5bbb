"""`manage.py personal_data_export --user U [--out FILE]`: a student's data as JSON."""

import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from eduai.privacy.personal_data import personal_data_export


class Command(BaseCommand):
    help = "Export everything eduai keeps about one user as JSON (to stdout or --out)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username")
        parser.add_argument("--out", type=Path, help="file to write (default: standard output)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        text = json.dumps(personal_data_export(user=user), indent=2, ensure_ascii=False)
        if options["out"]:
            options["out"].write_text(text + "\n", encoding="utf-8")
            self.stdout.write(f"Wrote {options['out']}.")
        else:
            self.stdout.write(text)
