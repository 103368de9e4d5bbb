"""Make a course-scoped API key: `manage.py api_token_create --user U --course ID --role R --name N`."""

from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from eduai.courses.models import ApiToken, Course
from eduai.courses.services import api_token_create


class Command(BaseCommand):
    help = "Create an API token limited to one course and role; prints the key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, help="username the token acts as")
        parser.add_argument("--course", required=True, type=int, help="course id")
        parser.add_argument("--role", required=True, choices=ApiToken.Role.values)
        parser.add_argument("--name", required=True, help="what uses it")
        parser.add_argument("--days", type=int, default=365, help="valid for this many days (0: no expiry)")

    def handle(self, *args: Any, **options: Any) -> None:
        user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError(f"No user named {options['user']!r}.")
        course = Course.objects.filter(pk=options["course"]).first()
        if course is None:
            raise CommandError(f"No course with id {options['course']}.")
        if options["days"] < 0:
            raise CommandError("--days must be 0 (no expiry) or more.")
        expires = timezone.now() + timedelta(days=options["days"]) if options["days"] else None
        try:
            token, key = api_token_create(
                user=user, course=course, role=options["role"], name=options["name"], expires_at=expires
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Token {token.key_prefix}... for {user} as {token.role} in {course}.")
        self.stdout.write("Key (shown only now): " + key)
        self.stdout.write("Use it as the header 'Authorization: Bearer <key>'.")
