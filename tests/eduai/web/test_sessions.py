"""The session store: a new session's row is written once, and a key already taken is never reused;
expired sessions are deleted, and an erased user's sessions with them."""

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from eduai.privacy.personal_data import personal_data_erase
from eduai.privacy.retention import retention_enforce
from eduai.web import sessions
from eduai.web.sessions import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_a_new_session_is_stored_by_its_first_save_and_loads_again():
    store = SessionStore()
    store["colour"] = "blue"
    store.cycle_key()  # as login() does: a key is drawn, nothing written yet
    assert store.session_key is not None
    assert not Session.objects.exists()
    store.save()
    assert Session.objects.count() == 1
    assert SessionStore(store.session_key).load() == {"colour": "blue"}
    store["colour"] = "green"
    store.save()  # later saves update the same row
    assert Session.objects.count() == 1
    assert SessionStore(store.session_key)["colour"] == "green"


def test_cycling_the_key_of_a_stored_session_removes_its_old_row():
    store = SessionStore()
    store["step"] = 1
    store.save()
    old = store.session_key
    store.cycle_key()
    store.save()
    assert list(Session.objects.values_list("session_key", flat=True)) == [store.session_key]
    assert store.session_key != old
    assert SessionStore(store.session_key)["step"] == 1


def test_a_drawn_key_that_is_taken_is_replaced_not_overwritten(monkeypatch):
    taken = SessionStore()
    taken["owner"] = "someone else"
    taken.save()
    draws = iter([taken.session_key, "x" * 32])
    monkeypatch.setattr(sessions, "get_random_string", lambda length, chars: next(draws))
    store = SessionStore()
    store["owner"] = "me"
    store.save()
    assert store.session_key == "x" * 32
    assert SessionStore(taken.session_key)["owner"] == "someone else"
    assert SessionStore("x" * 32)["owner"] == "me"


def test_a_session_flushed_before_it_was_written_writes_nothing():
    store = SessionStore()
    store["a"] = 1
    store.cycle_key()
    store.flush()
    assert store.session_key is None
    assert not Session.objects.exists()


def _signed_in(user) -> str:
    """A signed-in browser session, stored by a request as the site stores it."""
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code in {200, 302}
    key = client.session.session_key
    assert key is not None
    return key


def test_expired_sessions_are_deleted_by_the_retention_rule(settings):
    settings.RETENTION_EXPIRED_SESSION_DAYS = 1
    live = _signed_in(UserFactory.create())
    old = SessionStore()
    old["x"] = 1
    old.set_expiry(1)
    old.save()
    Session.objects.filter(pk=old.session_key).update(expire_date=timezone.now() - timedelta(days=2))
    purged = retention_enforce()
    assert purged["web-expired-sessions"] == 1
    assert list(Session.objects.values_list("pk", flat=True)) == [live]


def test_erasing_a_user_signs_them_out_everywhere_and_only_them():
    ana, bob = UserFactory.create(username="ana"), UserFactory.create(username="bob")
    _signed_in(ana)
    _signed_in(ana)
    bobs = _signed_in(bob)
    counts = personal_data_erase(user=ana)
    assert counts["web.sessions"] == 2
    assert list(Session.objects.values_list("pk", flat=True)) == [bobs]
