"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live server.

The tool runs at http://localhost:<port>; every page is opened inside an iframe of a page on
another origin, as in an LMS: the loopback LMS at 127.0.0.1 (launches), a bare embedder at
127.0.0.2 (framing rules), or one on another localhost port (the staff-only gallery, whose
session cookie a cross-site frame would not get).
"""

import html
import os
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Frame, Locator, Page, Playwright, sync_playwright

from tests.conftest import PROJECT_ROOT
from tests.eduai.lti.platform import LoopbackPlatform

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium keeps calling Google's hosts, which this network refuses.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = PROJECT_ROOT / "docs" / "screenshots"
WIDTHS = {"narrow": 390, "wide": 1280}  # the screenshots
FIT_WIDTHS = (320, 390, 768, 1280)  # an LMS iframe's range: no horizontal scroll at any of them

# Playwright's sync API runs an event loop in this thread; Django then refuses ORM calls from
# test code here unless told this thread is synchronous code (it is).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real Chromium (Playwright) against the live server")


def embedding_page(src: str, *, height: int) -> str:
    """An LMS-like course page with the tool in an iframe, as Moodle and Canvas show it."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>LMS course</title>'
        "<style>body{margin:0;font-family:sans-serif}header{padding:8px 12px;background:#333;color:#fff}"
        "iframe{display:block;width:100%;border:0}</style></head><body>"
        "<header>LMS: Biology 101</header>"
        f'<iframe id="tool" title="eduai" height="{height}" src="{html.escape(src)}"></iframe>'
        "</body></html>"
    )


def _embed_response(environ_query: str) -> bytes:
    query = parse_qs(environ_query)
    return embedding_page(query["src"][0], height=int(query.get("height", ["900"])[0])).encode()


class _EmbedHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/embed":
            self.send_error(404)
            return
        body = _embed_response(parts.query)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class Embedder:
    """A page on its own origin that frames a URL: /embed?src=<url>&height=<px>."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def url(self, src: str, *, height: int = 900) -> str:
        return f"{self.origin}/embed?src={quote(src, safe='')}&height={height}"


def _serve_embedder(bind: str, host: str) -> tuple[ThreadingHTTPServer, Embedder]:
    server = ThreadingHTTPServer((bind, 0), _EmbedHandler)
    Thread(target=server.serve_forever, daemon=True).start()
    return server, Embedder(f"http://{host}:{server.server_port}")


@pytest.fixture(scope="session")
def cross_site_origin() -> Iterator[Embedder]:
    """127.0.0.2: another site than the live server's localhost, so the browser treats eduai's
    cookies in its frame as third-party ones (and, like many browsers now, blocks them)."""
    server, embedder = _serve_embedder("127.0.0.2", "127.0.0.2")
    yield embedder
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def same_site_origin() -> Iterator[Embedder]:
    """localhost on another port: another origin (CSP frame-ancestors must allow it), but the
    same site, so the staff session cookie reaches the frame (the component gallery needs one)."""
    server, embedder = _serve_embedder("localhost", "localhost")
    yield embedder
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `make test` installs Debian's chromium"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
    yield browser
    browser.close()


@pytest.fixture
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(viewport={"width": WIDTHS["wide"], "height": 900}, locale="en-GB")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(browser_context: BrowserContext) -> Page:
    return browser_context.new_page()


@pytest.fixture(autouse=True)
def _test_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.browser.urls"


def launch_top_level(page: Page, platform: LoopbackPlatform, user: str, **hint: Any) -> None:
    """The new-window way in (first-party cookies, so later requests keep the session): the LMS's
    login initiation -> its authorisation form -> the launch page. ``hint`` is the LMS's
    ``resource_link_id`` and ``custom`` parameters (e.g. ``eduai_assignment``)."""
    page.goto(platform.login_initiation_url(user, **hint))
    page.wait_for_selector("form input[name=id_token]", state="attached")
    page.evaluate("document.forms[0].submit()")
    page.wait_for_url("**/lti/launch/")
    page.wait_for_selector("main h1")


def tool_frame(page: Page) -> Frame:
    """The iframe's document (another origin than the page around it)."""
    handle = page.wait_for_selector("#tool")
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None
    return frame


def axe_violations(frame: Frame) -> list[dict[str, Any]]:
    """axe-core's serious and critical findings for the frame's document (WCAG 2.1 A/AA rules
    and best practices). Evaluated through the DevTools protocol, so the page's CSP allows it."""
    frame.evaluate(AXE.read_text())
    violations: list[dict[str, Any]] = frame.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => ({id: v.id, impact: v.impact, help: v.help,
                            targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5)}));
        }"""
    )
    return violations


def resize(page: Page, width: int, height: int = 760) -> Frame:
    """Set the LMS page's width and wait until the tool's frame has laid out at its new size
    (the frame is another process, which reflows after the resize returns)."""
    page.set_viewport_size({"width": width, "height": height})
    frame = tool_frame(page)
    frame_width = page.evaluate("() => document.getElementById('tool').clientWidth")
    frame.wait_for_function("width => window.innerWidth === width", arg=frame_width)
    frame.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    return frame


def has_horizontal_scroll(frame: Frame) -> bool:
    return bool(frame.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth"))


def focus_is_visible(frame: Frame) -> bool:
    """The focused element draws an outline of at least 2 px (our :focus-visible style)."""
    return bool(
        frame.evaluate(
            """() => {
                const style = getComputedStyle(document.activeElement);
                return style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2;
            }"""
        )
    )


def tab_to(page: Page, frame: Frame, selector: str, *, limit: int = 60) -> list[str]:
    """Press Tab until the element matching ``selector`` has focus; every stop must show focus.
    Returns what received focus on the way, for failure messages."""
    visited = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        description = frame.evaluate(
            "() => { const e = document.activeElement; return e.tagName + '#' + e.id + '.' + e.className; }"
        )
        visited.append(description)
        if frame.evaluate("s => document.activeElement.matches(s)", selector):
            return visited
        if description.startswith(("BODY", "HTML")):
            continue
        assert focus_is_visible(frame), f"no visible focus on {description}"
    raise AssertionError(f"{selector} not reached by Tab; focus went {visited}")


def screenshot(target: Page | Locator, name: str, **options: Any) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    target.screenshot(path=str(path), **options)
    assert path.stat().st_size < 300_000, f"{path.name} is {path.stat().st_size} bytes"
    return path
