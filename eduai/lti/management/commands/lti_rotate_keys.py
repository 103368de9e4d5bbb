from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from eduai.lti.keys import signing_key_rotate


class Command(BaseCommand):
    help = (
        "Sign LTI messages with a new key from now on. Older keys stay in the public JWKS until "
        "their successor is --retire-after-hours old, so platforms can still verify recent messages."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--retire-after-hours", type=int, default=48)

    def handle(self, *args: Any, **options: Any) -> None:
        new_key, retired = signing_key_rotate(retire_after=timedelta(hours=options["retire_after_hours"]))
        self.stdout.write(
            self.style.SUCCESS(f"Now signing with key {new_key}; retired {retired} old key(s).")
        )
