"""Pseudonyms for students: stable within a course, different across courses, unlinkable to the
person without the server's secret key."""

import hashlib
import hmac

from django.conf import settings


def pseudonym(*, user_id: int, course_id: int) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"pseudonym:{course_id}:{user_id}".encode(), hashlib.sha256
    ).hexdigest()
    return f"student_{digest[:8]}"
