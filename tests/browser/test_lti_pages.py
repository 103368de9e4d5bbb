"""A real LTI launch from the loopback LMS, shown inside the LMS's iframe in Chromium."""

from collections.abc import Iterator
from typing import Any

import pytest
from lti_tool.models import Key, LtiRegistration
from playwright.sync_api import Frame, Page

from tests.browser.conftest import (
    FIT_WIDTHS,
    WIDTHS,
    Embedder,
    _embed_response,
    axe_violations,
    has_horizontal_scroll,
    resize,
    screenshot,
    tool_frame,
)
from tests.eduai.lti import platform as loopback
from tests.eduai.lti.platform import CONTEXT_TITLE, LoopbackPlatform

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lms(
    lti_platform: LoopbackPlatform, lti_registration: LtiRegistration, live_server: Any
) -> Iterator[Embedder]:
    """The loopback LMS, launching the live server, with a course page that frames the tool."""
    lti_platform.configure(tool_jwks=Key.objects.as_jwks(), tool_base=live_server.url)
    platform_app = lti_platform.app

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"] != "/embed":
            return platform_app(environ, start_response)
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [_embed_response(environ.get("QUERY_STRING", ""))]

    lti_platform.server.set_app(app)
    yield Embedder(lti_platform.url)
    lti_platform.server.set_app(platform_app)


def launch_in_frame(page: Page, lms: Embedder, platform: LoopbackPlatform, user: str) -> Frame:
    """The browser's hops inside the iframe: tool login -> LMS authorisation -> tool launch."""
    page.goto(lms.url(platform.login_initiation_url(user), height=700))
    frame = tool_frame(page)
    frame.wait_for_selector("form input[name=id_token]", state="attached")
    # A real LMS's authorisation page submits this form by script; the loopback one leaves it bare.
    frame.evaluate("document.forms[0].submit()")
    frame = tool_frame(page)
    frame.wait_for_url("**/lti/launch/")
    frame.wait_for_selector("main h1")
    return frame


def test_a_student_launch_inside_the_lms_frame_shows_the_course_and_role(page, lms, lti_platform):
    frame = launch_in_frame(page, lms, lti_platform, "u-student")
    assert page.url.startswith(lti_platform.url), "the LMS page is the top document"
    assert frame.url.startswith("http://localhost:"), "the tool is another origin inside it"
    assert frame.inner_text("main h1") == "AI tutor"
    header = frame.inner_text(".launch-context")
    assert CONTEXT_TITLE in header
    assert "Student" in header
    assert frame.evaluate("document.documentElement.lang") == "en"
    assert axe_violations(frame) == []
    for width in FIT_WIDTHS:
        assert not has_horizontal_scroll(resize(page, width)), f"horizontal scroll at {width} px"
    for name, width in WIDTHS.items():
        resize(page, width)
        screenshot(page, f"student-launch-{name}")


def test_the_launch_language_follows_the_lms_locale(page, lms, lti_platform, monkeypatch):
    prepare = loopback.Launch.prepare_launch

    def prepare_in_chinese(self: loopback.Launch, preflight_response: dict[str, Any]) -> None:
        prepare(self, preflight_response)
        presentation = self.lti_claim_launch_presentation or {}
        for claim in presentation.values():
            claim["locale"] = "zh-CN"

    monkeypatch.setattr(loopback.Launch, "prepare_launch", prepare_in_chinese)
    frame = launch_in_frame(page, lms, lti_platform, "u-student")  # the browser itself asks for en-GB
    assert frame.evaluate("document.documentElement.lang") == "zh-hans"
    assert frame.inner_text("main h1") == "AI 辅导"
    assert "学生" in frame.inner_text(".launch-context")
    assert axe_violations(frame) == []
    assert not has_horizontal_scroll(resize(page, WIDTHS["narrow"]))
    screenshot(page, "student-launch-zh-narrow")


def test_an_instructor_launch_shows_the_instructor_page_with_its_role(page, lms, lti_platform):
    frame = launch_in_frame(page, lms, lti_platform, "u-teacher")
    assert frame.inner_text("main h1") == "Instructor view"
    assert "Instructor" in frame.inner_text(".launch-context")
    assert axe_violations(frame) == []
