"""Who may frame eduai, as Chromium enforces it: the active LTI platforms, nobody else."""

import uuid

import pytest
from lti_tool.models import LtiRegistration

from tests.browser.conftest import axe_violations, tool_frame

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _frame_loads(page, url: str) -> bool:
    page.goto(url)
    frame = tool_frame(page)
    frame.wait_for_load_state()
    # A frame refused by frame-ancestors shows Chromium's error page instead of ours.
    return not frame.url.startswith("chrome-error:") and frame.query_selector("main h1") is not None


def test_an_lti_page_is_framed_only_by_an_active_platform(page, live_server, cross_site_origin):
    lti_page = f"{live_server.url}/lti/resource/"
    assert not _frame_loads(page, cross_site_origin.url(lti_page)), "an unknown origin may not frame eduai"
    registration = LtiRegistration.objects.create(
        name="LMS on 127.0.0.2",
        uuid=uuid.uuid4(),
        issuer=cross_site_origin.origin,
        client_id="client-embed",
        auth_url=cross_site_origin.origin + "/auth",
        token_url=cross_site_origin.origin + "/token",
        keyset_url=cross_site_origin.origin + "/jwks",
        is_active=True,
    )
    assert _frame_loads(page, cross_site_origin.url(lti_page)), "an active platform may"
    registration.is_active = False
    registration.save()
    assert not _frame_loads(page, cross_site_origin.url(lti_page)), "a deactivated one may not any more"


def test_pages_outside_lti_are_not_framed_even_by_a_platform(page, live_server, cross_site_origin):
    LtiRegistration.objects.create(
        name="LMS on 127.0.0.2",
        uuid=uuid.uuid4(),
        issuer=cross_site_origin.origin,
        client_id="client-embed",
        auth_url=cross_site_origin.origin + "/auth",
        token_url=cross_site_origin.origin + "/token",
        keyset_url=cross_site_origin.origin + "/jwks",
    )
    assert not _frame_loads(page, cross_site_origin.url(f"{live_server.url}/"))


def test_the_accessibility_check_does_find_problems(page, live_server):
    """The axe check the other tests rely on reports a serious problem when there is one."""
    page.goto(f"{live_server.url}/")
    assert axe_violations(page.main_frame) == []
    page.evaluate(
        """() => {
            const main = document.querySelector("main");
            main.append(document.createElement("input"));
            const faint = document.createElement("p");
            faint.textContent = "faint";
            faint.style.color = "#bbb";  // through the CSSOM: the CSP forbids style attributes
            main.append(faint);
        }"""
    )
    assert {violation["id"] for violation in axe_violations(page.main_frame)} >= {"label", "color-contrast"}
