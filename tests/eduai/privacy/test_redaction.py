import pytest
from django.core.exceptions import ImproperlyConfigured

from eduai.privacy.pseudonyms import pseudonym
from eduai.privacy.redaction import Person, redact
from eduai.settings.environment import env_pattern

ROSTER = [
    Person(pseudonym="student_a1", name="Maria Gonzalez", email="maria.g@school.edu"),
    Person(pseudonym="student_b2", name="Li Wei", email="liwei@school.edu"),
]


def test_roster_names_and_emails_become_pseudonyms():
    result = redact("Hi, I'm Maria Gonzalez (maria.g@school.edu); gonzalez is my surname.", people=ROSTER)
    assert result.text == "Hi, I'm student_a1 (student_a1); student_a1 is my surname."
    assert result.found["roster"] == 3


def test_short_name_parts_do_not_eat_ordinary_words():
    # "Li" is too short to redact alone; the full name and the email still are.
    result = redact("Li Wei said the limit is near. Email liwei@school.edu", people=ROSTER)
    assert result.text == "student_b2 said the limit is near. Email student_b2"


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("write to tutor.help+x@gmail.com today", "write to [email] today", "email"),
        ("call +1 (555) 123-4567 now", "call [phone] now", "phone"),
        ("my number is 138 0013 8000", "my number is [phone]", "phone"),
        ("student id S20231234 here", "student id [student-id] here", "student_id"),
        ("id 11010519491231002X ok", "id [national-id] ok", "national_id"),
        ("I live at 42 Wallaby Way, Sydney", "I live at [address], Sydney", "address"),
    ],
)
def test_personal_data_becomes_a_tag_naming_its_kind(text, expected, kind):
    result = redact(text)
    assert result.text == expected
    assert result.found[kind] == 1


def test_ordinary_numbers_and_text_survive():
    text = "In 1859 Darwin wrote about 3 finches; photosynthesis makes C6H12O6 at 25 degrees."
    result = redact(text)
    assert result.text == text
    assert not result.found


def test_pseudonyms_are_stable_per_course_and_differ_across_courses():
    first = pseudonym(user_id=7, course_id=1)
    assert first == pseudonym(user_id=7, course_id=1)
    assert first.startswith("student_")
    assert first != pseudonym(user_id=7, course_id=2)
    assert first != pseudonym(user_id=8, course_id=1)


def test_a_malformed_student_id_pattern_stops_startup_by_name(monkeypatch):
    monkeypatch.setenv("EDUAI_STUDENT_ID_PATTERN", "[unclosed")
    with pytest.raises(
        ImproperlyConfigured, match="EDUAI_STUDENT_ID_PATTERN is not a valid regular expression"
    ):
        env_pattern("EDUAI_STUDENT_ID_PATTERN", r"\d+")
