"""The page language: the LMS's launch locale first, then the browser's Accept-Language; and the
language a student writes in."""

import shutil
import subprocess
import sys
from gettext import GNUTranslations

import pytest
from django.test import Client

from eduai.web.languages import language_from_locale, written_language
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.django_db
CATALOG = PROJECT_ROOT / "locale" / "zh_Hans" / "LC_MESSAGES"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("What is osmosis?", "en"),
        ("什么是渗透作用\uff1f", "zh-hans"),
        ("DNA 是什么?", "zh-hans"),  # a Latin-script term in a Chinese sentence
        ("Explain the term 渗透 in chapter three, please", "en"),  # a Chinese term in English
        ("", "en"),
        ("42 + 17 = ?", "en"),
    ],
)
def test_the_language_a_student_writes_in(text, language):
    assert written_language(text) == language


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("zh-CN", "zh-hans"),
        ("zh_CN", "zh-hans"),
        ("zh-Hans-SG", "zh-hans"),
        ("zh", "zh-hans"),
        ("zh-TW", None),  # traditional script: no translation yet, so not the simplified one
        ("zh-Hant", None),
        ("en-US", "en"),
        ("fr-FR", None),
        ("", None),
    ],
)
def test_language_from_locale(locale, language):
    assert language_from_locale(locale) == language


def test_the_browser_language_picks_chinese_for_stand_alone_pages():
    page = Client(HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5").get("/")
    assert page["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in page.content.decode()
    assert "管理员入口" in page.content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB").get("/")
    assert "For administrators" in english.content.decode()


def test_the_launch_locale_wins_over_the_browser(lti_flow, monkeypatch):
    from tests.eduai.lti import platform as loopback

    prepare = loopback.Launch.prepare_launch

    def prepare_in_chinese(self, preflight_response):
        prepare(self, preflight_response)
        for claim in (self.lti_claim_launch_presentation or {}).values():
            claim["locale"] = "zh-CN"

    monkeypatch.setattr(loopback.Launch, "prepare_launch", prepare_in_chinese)
    client = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    page = lti_flow.launch(client, "u-teacher").content.decode()
    assert '<html lang="zh-hans">' in page
    assert "教师视图" in page
    follow_up = client.get("/lti/resource/")
    assert follow_up["Content-Language"] == "zh-hans"
    assert "教师视图" in follow_up.content.decode()


def _messages(catalog: GNUTranslations) -> dict[object, str]:
    return dict(catalog._catalog)  # type: ignore[attr-defined]  # the parsed .mo, not public API


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="needs gettext (make test installs it)")
def test_the_committed_catalog_is_complete_and_compiled(tmp_path):
    source = (CATALOG / "django.po").read_text()
    assert "#, fuzzy" not in source
    entries = source.split("\n\n")[1:]
    untranslated = [entry for entry in entries if entry.rstrip().endswith('msgstr ""')]
    assert untranslated == []
    compiled = tmp_path / "django.mo"
    msgfmt = shutil.which("msgfmt") or "msgfmt"
    subprocess.run([msgfmt, "--check", "-o", str(compiled), str(CATALOG / "django.po")], check=True)
    with compiled.open("rb") as fresh, (CATALOG / "django.mo").open("rb") as committed:
        assert _messages(GNUTranslations(fresh)) == _messages(GNUTranslations(committed)), (
            "run manage.py compilemessages"
        )


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs gettext (make test installs it)")
def test_every_string_in_the_templates_is_in_the_catalog(tmp_path):
    """makemessages over a copy of the project finds no string the committed catalog lacks."""
    copy = tmp_path / "project"
    for part in ("eduai", "grading", "tutoring", "analytics", "locale", "manage.py"):
        source = PROJECT_ROOT / part
        if source.is_dir():
            shutil.copytree(source, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, copy / part)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--no-location"],
        cwd=copy,
        check=True,
        capture_output=True,
        env={"PATH": f"{PROJECT_ROOT / '.venv' / 'bin'}:/usr/bin:/bin", "DEBUG": "true"},
    )
    extracted = (copy / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text().split("\n\n")[1:]
    # New strings come out empty, or "fuzzy" with a guess from a similar one: both need a translator.
    new = [
        entry
        for entry in extracted
        if "#~" not in entry and (entry.rstrip().endswith('msgstr ""') or "#, fuzzy" in entry)
    ]
    assert new == [], "translate these in locale/zh_Hans/LC_MESSAGES/django.po"
