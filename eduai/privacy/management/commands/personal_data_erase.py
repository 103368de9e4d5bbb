"""`manage.py personal_data_erase --user U --yes`: delete a user and everything that is theirs."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from eduai.privacy.personal_data import personal_data_erase


class Command(BaseCommand):
    help = "Erase one user: their account, submissions, conversations, analytics and derived data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username")
        parser.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        if not options["yes"]:
            raise CommandError("Erasure cannot be undone: add --yes to confirm.")
        counts = personal_data_erase(user=user)
        for kind, count in sorted(counts.items()):
            self.stdout.write(f"{kind}: {count}")
        self.stdout.write("Erased.")
