"""Keys: the platform's are cached and fetched again on an unknown kid; ours rotate with a grace period."""

from datetime import timedelta

import jwt
import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from lti_tool.models import Key

from eduai.lti.keys import signing_key_rotate
from tests.eduai.lti.conftest import form_of

pytestmark = pytest.mark.django_db


def test_platform_keys_are_fetched_once_and_then_cached(lti_flow):
    assert lti_flow.launch(Client(), "u-teacher").status_code == 200
    assert lti_flow.launch(Client(), "u-student").status_code == 200
    assert lti_flow.platform.store["jwks_fetches"] == 1


def test_a_launch_signed_with_a_rotated_platform_key_succeeds_after_the_kid_miss(lti_flow):
    assert lti_flow.launch(Client(), "u-teacher").status_code == 200
    old_kid = lti_flow.platform.kid
    lti_flow.platform.rotate_key()
    try:
        assert lti_flow.platform.kid != old_kid
        response = lti_flow.launch(Client(), "u-teacher")
        assert response.status_code == 200, response.content[:500]
        assert lti_flow.platform.store["jwks_fetches"] == 2
    finally:
        lti_flow.platform.rotate_key()  # other tests start from a key no earlier test cached


def test_unknown_kids_do_not_make_us_fetch_the_platform_keys_every_time(lti_flow):
    for _ in range(3):
        response = lti_flow.forged_launch(header={"alg": "RS256", "kid": "random-kid"})
        assert response.status_code == 400
    # one fetch to fill the cache, one re-fetch for the unknown kid, then the re-fetch is rate limited
    assert lti_flow.platform.store["jwks_fetches"] == 2


def test_jwks_publishes_the_active_keys(client, db):
    response = client.get("/lti/jwks/")
    assert response.status_code == 200
    keys = response.json()["keys"]
    assert len(keys) == 1, "the first key is created on first use"
    assert keys[0]["alg"] == "RS256"
    assert "d" not in keys[0], "never the private part"


def test_rotation_keeps_the_old_key_published_until_its_grace_period_ends(db):
    first = Key.objects.generate()
    second, retired = signing_key_rotate(retire_after=timedelta(hours=48))
    assert retired == 0
    assert set(Key.objects.active()) == {first, second}
    Key.objects.filter(pk=first.pk).update(datetime_created=timezone.now() - timedelta(hours=100))
    Key.objects.filter(pk=second.pk).update(datetime_created=timezone.now() - timedelta(hours=49))
    third, retired = signing_key_rotate(retire_after=timedelta(hours=48))
    assert retired == 1
    assert set(Key.objects.active()) == {second, third}, "the newest key's predecessor stays"


def test_rotate_command(db, capsys):
    Key.objects.generate()
    call_command("lti_rotate_keys", "--retire-after-hours", "48")
    assert "Now signing with key" in capsys.readouterr().out
    assert Key.objects.active().count() == 2


def test_after_rotation_the_platform_accepts_what_the_tool_signs_with_the_new_key(lti_flow):
    new_key, _ = signing_key_rotate(retire_after=timedelta(hours=48))
    lti_flow.platform.configure(tool_jwks=Key.objects.as_jwks())
    client = Client()
    page = lti_flow.launch(client, "u-teacher", message="deep_link").content.decode()
    _, fields = form_of(page)
    response = client.post(
        "/lti/deep-link/", {"launch_id": fields["launch_id"], "kind": "tutor", "max_score": "10"}
    )
    action, response_fields = form_of(response.content.decode())
    assert jwt.get_unverified_header(response_fields["JWT"])["kid"] == new_key.as_jwk()["kid"]
    assert requests.post(action, data={"JWT": response_fields["JWT"]}, timeout=10).status_code == 200
