"""Database sessions whose new row is written once, at the end of the request.

Django's database store, on a sign-in (``login`` cycles the key), checks that a new key is free
(a SELECT), INSERTs the row at once, and the session middleware then UPDATEs it with what the
sign-in added: three statements in two transactions on every first launch in a browser. Here
``create`` only draws the key (32 characters from 36: 165 random bits) and the request's first
``save`` INSERTs the row; the primary key still refuses a key already taken, and then another
is drawn. Everything else (loading, expiry) is Django's.

Sessions hold who is signed in and their launch: personal data. Expired rows are deleted by the
retention rule below (``RETENTION_EXPIRED_SESSION_DAYS`` after they expired), and a user's
erasure deletes their sessions (``sessions_erase_user``).

Settings: ``SESSION_ENGINE = "eduai.web.sessions"``.
"""

from datetime import datetime
from typing import Any

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils.crypto import get_random_string

from eduai.privacy.retention import RetentionRule

NEW_KEY_ATTEMPTS = 10


class SessionStore(DatabaseSessionStore):
    _row_missing = False  # a key drawn by create() that no row holds yet

    def create(self) -> None:
        self._session_key = get_random_string(32, VALID_KEY_CHARS)
        self._row_missing = True
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
        if not self._row_missing:
            super().save(must_create=must_create)
            return
        for _attempt in range(NEW_KEY_ATTEMPTS):
            try:
                super().save(must_create=True)
            except CreateError:
                self._session_key = get_random_string(32, VALID_KEY_CHARS)
                continue
            self._row_missing = False
            return
        raise CreateError(f"No free session key in {NEW_KEY_ATTEMPTS} draws.")

    def delete(self, session_key: Any = None) -> None:
        if session_key is None and self._row_missing:
            self._session_key = None  # nothing written yet: nothing to delete
            return
        super().delete(session_key)


def sessions_purge(cutoff: datetime) -> int:
    """Delete the sessions that expired before ``cutoff``."""
    deleted, _ = Session.objects.filter(expire_date__lt=cutoff).delete()
    return deleted


def sessions_erase_user(user_id: int, pseudonyms: frozenset[str]) -> int:
    """Delete the sessions signed in as the user (an erasure hook: a session's user is inside its
    encoded data, not a column)."""
    store = SessionStore()
    theirs = [
        session.pk
        for session in Session.objects.iterator()
        if str(store.decode(session.session_data).get(SESSION_KEY, "")) == str(user_id)
    ]
    Session.objects.filter(pk__in=theirs).delete()
    return len(theirs)


RETENTION_RULE = RetentionRule("web-expired-sessions", "RETENTION_EXPIRED_SESSION_DAYS", sessions_purge)
