"""The tutor's chat page in Chromium: notice, a streamed answer from the real worker, the stored
thread with its source and rating buttons, keyboard use and accessibility."""

from typing import Any

import pytest
from lti_tool.models import Key, LtiRegistration
from playwright.sync_api import expect

from eduai.courses.models import Course
from tests.browser.conftest import (
    FIT_WIDTHS,
    axe_violations,
    has_horizontal_scroll,
    launch_top_level,
    screenshot,
)
from tutoring import services
from tutoring.models import FaqEntry, Message

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUESTION = "Which enzyme fixes carbon dioxide in the Calvin cycle?"
ENDORSED = (
    "RuBisCO fixes carbon dioxide in the stroma. Which molecules from the light reactions does it need?"
)


def test_student_asks_sees_the_streamed_answer_and_rates_it(
    page, lti_platform, lti_registration: LtiRegistration, live_server: Any, celery_worker_process
):
    lti_platform.configure(tool_jwks=Key.objects.as_jwks(), tool_base=live_server.url)
    launch_top_level(page, lti_platform, "u-student", resource_link_id="rl-tutor-browser")
    course = Course.objects.get()
    # The instructor has endorsed an answer to this question (embedded here, as the worker would).
    instructor_answer = FaqEntry.objects.create(course=course, question=QUESTION, answer=ENDORSED)
    services.faq_embed(faq_id=instructor_answer.pk)

    page.get_by_role("link", name="Open the tutor").click()
    expect(page.get_by_role("heading", name="Before you start: about this AI tutor")).to_be_visible()
    assert axe_violations(page.main_frame) == []
    page.get_by_role("button", name="I understand, start").click()

    question = page.get_by_label("Your question")
    question.fill(QUESTION)
    question.press("Control+Enter")
    tutor = page.locator(".chat-thread .chat-tutor").last
    expect(tutor.locator(".chat-text")).to_have_text(ENDORSED, timeout=60_000)
    # The stored thread replaces the streamed one: its source and the rating buttons appear.
    expect(tutor.get_by_text("Answer endorsed by your instructor")).to_be_visible(timeout=15_000)
    expect(page.locator(".chat-thread")).to_have_attribute("aria-busy", "false")
    helpful = tutor.get_by_role("button", name="Helpful", exact=True)
    helpful.focus()
    page.keyboard.press("Enter")
    expect(
        page.locator(".chat-thread .chat-tutor").last.get_by_role("button", name="Helpful", exact=True)
    ).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#toasts")).to_contain_text("Thank you for rating this answer.")
    assert Message.objects.get(role="tutor").rating == 1

    assert axe_violations(page.main_frame) == []
    for width in FIT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        assert not has_horizontal_scroll(page.main_frame), f"horizontal scroll at {width} px"
    page.set_viewport_size({"width": 390, "height": 800})
    screenshot(page, "tutor-chat-narrow", full_page=True)
