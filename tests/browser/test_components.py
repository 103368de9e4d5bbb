"""The component gallery in Chromium, framed by an LMS on another origin, used by keyboard."""

import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from lti_tool.models import LtiRegistration
from playwright.sync_api import BrowserContext, Frame, Page

from tests.browser.conftest import (
    FIT_WIDTHS,
    WIDTHS,
    Embedder,
    axe_violations,
    focus_is_visible,
    has_horizontal_scroll,
    resize,
    screenshot,
    tab_to,
    tool_frame,
)
from tests.browser.urls import CANNED_ANSWER, FAILURE_MESSAGE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def staff_login(context: BrowserContext, live_server: Any, username: str) -> None:
    """Sign in through the admin's form, so the browser holds the cookie exactly as Django sets it
    (SameSite=None; Secure), which the LMS's iframe then sends."""
    User.objects.create_user(username, password="a-long-test-password", is_staff=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    page.close()


@pytest.fixture
def staff_context(browser_context: BrowserContext, live_server: Any) -> BrowserContext:
    staff_login(browser_context, live_server, "staff")
    return browser_context


@pytest.fixture
def lms_origin(same_site_origin: Embedder) -> Embedder:
    LtiRegistration.objects.create(
        name="LMS on 127.0.0.2",
        uuid=uuid.uuid4(),
        issuer=same_site_origin.origin,
        client_id="client-embed",
        auth_url=same_site_origin.origin + "/auth",
        token_url=same_site_origin.origin + "/token",
        keyset_url=same_site_origin.origin + "/jwks",
    )
    return same_site_origin


def open_gallery(page: Page, live_server: Any, lms_origin: Embedder) -> Frame:
    page.goto(lms_origin.url(f"{live_server.url}/ui/components/", height=4200))
    frame = tool_frame(page)
    frame.wait_for_selector("#chat")
    frame.wait_for_function("() => window.htmx !== undefined")
    return frame


def test_the_chat_streams_an_answer_and_is_used_by_keyboard(staff_context, live_server, lms_origin):
    page = staff_context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    frame = open_gallery(page, live_server, lms_origin)
    visited = tab_to(page, frame, "#chat-message")
    assert visited[0].startswith("A#"), "the skip link comes first"
    page.keyboard.type("What is osmosis?")
    tab_to(page, frame, "#chat button[type=submit]")
    page.keyboard.press("Enter")
    thread = frame.locator("#chat .chat-thread")
    # While pieces arrive the answer grows and the thread is busy (screen readers wait for it).
    frame.wait_for_function(
        """length => {
            const text = document.querySelector("#chat .chat-tutor:last-child .chat-text");
            return text && text.textContent.length > 0 && text.textContent.length < length;
        }""",
        arg=len(CANNED_ANSWER),
    )
    assert thread.get_attribute("aria-busy") == "true"
    assert thread.get_attribute("aria-live") == "polite"
    frame.wait_for_function("() => document.querySelector('#chat .chat-thread').ariaBusy === 'false'")
    answer = frame.locator("#chat .chat-tutor").last
    assert answer.locator(".chat-text").inner_text() == CANNED_ANSWER, "markup in a piece stays text"
    assert answer.locator("b").count() == 0
    assert frame.locator("#chat .chat-status").inner_text() == "The tutor has answered."
    assert frame.locator("#chat .chat-student").last.inner_text().endswith("What is osmosis?")
    assert frame.locator("#chat .chat-error").is_hidden()
    streams = [url for url in requested if "/test/chat-stream/" in url]
    assert len(streams) == 1
    assert "turns=3" in streams[0], "the earlier turns went along with the question"


def test_the_chat_shows_the_error_state_on_an_error_event(staff_context, live_server, lms_origin):
    page = staff_context.new_page()
    frame = open_gallery(page, live_server, lms_origin)
    frame.fill("#chat-message", "please fail")
    frame.focus("#chat-message")
    page.keyboard.press("Control+Enter")
    error = frame.locator("#chat .chat-error")
    error.wait_for(state="visible")
    assert error.get_attribute("role") == "alert"
    assert FAILURE_MESSAGE in error.inner_text()
    assert frame.locator("#chat button[type=submit]").is_enabled(), "the student can ask again"


def test_the_submission_form_reports_errors_then_uploads_with_progress(
    staff_context, live_server, lms_origin, tmp_path
):
    page = staff_context.new_page()
    frame = open_gallery(page, live_server, lms_origin)
    tab_to(page, frame, "#submission button[type=submit]")
    page.keyboard.press("Enter")
    errors = frame.locator("#submission .form-errors")
    errors.wait_for()
    assert "Type an answer or choose a file." in errors.inner_text()
    # Focus moves to the errors once htmx has settled the new content.
    frame.wait_for_function("() => document.activeElement.id === 'submission-errors'")
    frame.evaluate(
        """() => {
            window.uploadProgress = 0;
            document.body.addEventListener("htmx:xhr:progress", event => {
                const part = event.detail.loaded / event.detail.total;
                window.uploadProgress = Math.max(window.uploadProgress, part);
            });
        }"""
    )
    essay = tmp_path / "essay.txt"
    essay.write_text("Osmosis is diffusion of water. " * 4000)
    frame.set_input_files("#submission-file", str(essay))
    frame.fill("#submission-text", "See the attached essay.")
    frame.focus("#submission-text")
    tab_to(page, frame, "#submission button[type=submit]")
    assert focus_is_visible(frame)
    page.keyboard.press("Enter")
    frame.locator("#submission .state-success").wait_for()
    assert "essay.txt" in frame.inner_text("#submission .state-success")
    assert frame.evaluate("window.uploadProgress") == 1, "the progress bar saw the whole upload"


def test_the_review_table_bulk_action_reports_in_a_toast(staff_context, live_server, lms_origin):
    page = staff_context.new_page()
    frame = open_gallery(page, live_server, lms_origin)
    tab_to(page, frame, "#review button[type=submit]")
    page.keyboard.press("Enter")
    frame.locator("#review-result [role=alert]").wait_for()
    assert "Choose at least one row" in frame.inner_text("#review-result")
    tab_to(page, frame, "#review-row-1")
    page.keyboard.press("Space")
    tab_to(page, frame, "#review-row-3")
    page.keyboard.press("Space")
    assert frame.inner_text("#review .selected-count") == "2 selected"
    assert frame.evaluate("document.querySelector('#review-all').indeterminate")
    tab_to(page, frame, "#review button[type=submit]")
    page.keyboard.press("Enter")
    toast = frame.locator("#toasts .toast-success")
    toast.wait_for()
    assert toast.inner_text().startswith("2 items: Approve and release.")
    frame.locator("#toasts .toast-dismiss").focus()
    page.keyboard.press("Enter")
    toast.wait_for(state="detached")


@pytest.mark.parametrize("language", ["en-GB", "zh-CN"])
def test_the_gallery_passes_axe_and_fits_every_width(browser, live_server, lms_origin, language):
    context = browser.new_context(locale=language, viewport={"width": WIDTHS["wide"], "height": 900})
    try:
        staff_login(context, live_server, f"staff-{language}")
        page = context.new_page()
        frame = open_gallery(page, live_server, lms_origin)
        chinese = language == "zh-CN"
        assert frame.inner_text("main h1") == ("组件" if chinese else "Components")
        assert axe_violations(frame) == []
        for width in FIT_WIDTHS:
            assert not has_horizontal_scroll(resize(page, width, 900)), f"horizontal scroll at {width} px"
        # Screenshots of the gallery itself (top level), the whole page, for the README.
        page.goto(f"{live_server.url}/ui/components/")
        for name, width in WIDTHS.items():
            if chinese and name == "wide":
                continue
            page.set_viewport_size({"width": width, "height": 900})
            screenshot(page, f"components-{'zh-' if chinese else ''}{name}", full_page=True)
    finally:
        context.close()
