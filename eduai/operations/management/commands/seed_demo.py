from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from eduai.operations.demo import demo_seed


class Command(BaseCommand):
    help = "Create (or refresh) the demo course, assignment, LMS registration and admin account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--admin-username", default="admin")

    def handle(self, *args: Any, **options: Any) -> None:
        seed = demo_seed(admin_username=options["admin_username"])
        self.stdout.write(self.style.SUCCESS(f"Demo course: {seed.course}"))
        self.stdout.write(f"Admin user: {seed.admin_username}  password: {seed.admin_password}")
