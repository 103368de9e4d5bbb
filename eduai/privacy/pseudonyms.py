"""Pseudonyms for students: stable within a course, different across courses, and not
reversible or guessable without the server's secret key. Every log, export, analytics row and
instructor view of conversations uses this one function."""

from django.utils.crypto import salted_hmac

# Changing this salt (or SECRET_KEY) gives every student a new pseudonym from then on.
PSEUDONYM_SALT = "eduai.privacy.pseudonym"


def pseudonym(*, user_id: int, course_id: int) -> str:
    digest = salted_hmac(PSEUDONYM_SALT, f"{course_id}:{user_id}").hexdigest()
    return f"student_{digest[:16]}"
