"""The session store: a new session's row is written once, and a key already taken is never reused."""

import pytest
from django.contrib.sessions.models import Session

from eduai.web import sessions
from eduai.web.sessions import SessionStore

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
