"""Content-Security-Policy: framed by 'self' and the active LTI platforms only; our own scripts."""

import uuid

import pytest
from django.core.cache import cache
from lti_tool.models import LtiRegistration

from eduai.web.selectors import PLATFORM_ORIGINS_CACHE_KEY, origin_of, platform_origins_list

pytestmark = pytest.mark.django_db


def _registration(issuer: str, auth_url: str, *, is_active: bool = True) -> LtiRegistration:
    return LtiRegistration.objects.create(
        name=issuer,
        uuid=uuid.uuid4(),
        issuer=issuer,
        client_id="c",
        auth_url=auth_url,
        token_url=auth_url,
        keyset_url=auth_url,
        is_active=is_active,
    )


def _directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {
        part.split(" ", 1)[0]: part.split(" ", 1)[1] if " " in part else "" for part in policy.split("; ")
    }


@pytest.fixture(autouse=True)
def _fresh_origins():
    cache.delete(PLATFORM_ORIGINS_CACHE_KEY)


def test_lti_pages_may_be_framed_by_active_platforms_only(client):
    _registration("https://moodle.school.edu", "https://moodle.school.edu/mod/lti/auth.php")
    _registration("https://canvas.instructure.com", "https://sso.canvaslms.com/api/lti/authorize_redirect")
    _registration("https://old.school.edu", "https://old.school.edu/auth", is_active=False)
    response = client.get("/lti/resource/")  # the error page without a launch: still an LTI page
    assert response.status_code == 403
    assert "X-Frame-Options" not in response
    frame_ancestors = _directives(response)["frame-ancestors"].split()
    assert frame_ancestors == [
        "'self'",
        "https://canvas.instructure.com",
        "https://moodle.school.edu",
        "https://sso.canvaslms.com",
    ]
    assert "*" not in response["Content-Security-Policy"]
    assert _directives(response)["form-action"].split() == frame_ancestors, "deep links post to the LMS"


def test_our_pages_allow_only_our_own_scripts_and_styles(client):
    directives = _directives(client.get("/lti/resource/"))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"


def test_other_pages_keep_x_frame_options_deny_and_frame_ancestors_self(client):
    _registration("https://moodle.school.edu", "https://moodle.school.edu/auth")
    for url in ("/", "/admin/login/"):
        response = client.get(url)
        assert response["X-Frame-Options"] == "DENY"
        assert _directives(response)["frame-ancestors"] == "'self'"
    # The admin brings its own inline scripts: no script-src that would break it.
    assert "script-src" not in _directives(client.get("/admin/login/"))


def test_a_new_or_changed_registration_frames_at_once(client):
    assert _directives(client.get("/lti/resource/"))["frame-ancestors"] == "'self'"
    registration = _registration("https://moodle.school.edu", "https://moodle.school.edu/auth")
    assert "https://moodle.school.edu" in _directives(client.get("/lti/resource/"))["frame-ancestors"]
    registration.is_active = False
    registration.save()
    assert _directives(client.get("/lti/resource/"))["frame-ancestors"] == "'self'"


def test_origins_are_cached_briefly(django_assert_num_queries):
    _registration("https://moodle.school.edu", "https://moodle.school.edu/auth")
    platform_origins_list()
    with django_assert_num_queries(0):
        assert platform_origins_list() == ["https://moodle.school.edu"]


def test_an_issuer_that_is_not_an_origin_adds_nothing_to_the_policy(client):
    _registration("https://evil.test; script-src *", "https://ok.test/auth")
    _registration("urn:moodle:site", "https://moodle.test:8443/auth")
    assert platform_origins_list() == ["https://moodle.test:8443", "https://ok.test"]
    assert "evil" not in client.get("/lti/resource/")["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://moodle.school.edu/mod/lti/auth.php", "https://moodle.school.edu"),
        ("http://127.0.0.1:8080/auth", "http://127.0.0.1:8080"),
        ("https://user:secret@lms.test/x", "https://lms.test"),
        ("javascript:alert(1)", None),
        ("https://a b.test/", None),
        ("", None),
    ],
)
def test_origin_of(url, origin):
    assert origin_of(url) == origin


def test_dynamic_registration_page_may_be_framed_by_the_registering_lms(client):
    response = client.get("/lti/register/", {"openid_configuration": "https://moodle.new.edu/.well-known/x"})
    assert response.status_code == 400  # unreachable platform: the error page, framed by it
    assert "https://moodle.new.edu" in _directives(response)["frame-ancestors"]


def test_upgrade_insecure_requests_only_behind_tls(client):
    assert "upgrade-insecure-requests" not in client.get("/")["Content-Security-Policy"]
    assert "upgrade-insecure-requests" in client.get("/", secure=True)["Content-Security-Policy"]
