"""Personal data out of student text before it reaches a model prompt, a log, an export or a
training set.

Roster people (name, email) become their course pseudonym, so a conversation stays readable
("student_3f2a91c0 asked ..."); other personal data becomes a bracketed tag naming its kind.
Names are matched as whole words, case-insensitively; single-letter or very short name parts
are left alone, since they would match ordinary words.
"""

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

MIN_NAME_PART_LENGTH = 3

# Every repeat is bounded (RFC 5321 lengths; at most 3 separators between digits), so a long line
# costs linear time (unbounded repeats made a 64 KB line take seconds).
EMAIL = re.compile(r"\b[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63}){1,8}\b")
# 7 or more digits, optionally with a leading +, spaces, dots, dashes or brackets between them.
PHONE = re.compile(r"(?<![\w+])\+?\d(?:[\s.()-]{0,3}\d){6,14}(?![\w])")
# An 18-character national id (e.g. mainland China's), before the shorter student ids.
NATIONAL_ID = re.compile(r"\b\d{17}[\dXx]\b")
STREET_SUFFIXES = (
    r"Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace"
)
ADDRESS = re.compile(
    rf"\b\d{{1,5}}\s{{1,3}}(?:[A-Z][\w'-]{{0,40}}\s{{1,3}}){{1,4}}(?:{STREET_SUFFIXES})\b\.?"
)


@dataclass(frozen=True)
class Person:
    """Someone on a course roster, and the pseudonym that replaces them."""

    pseudonym: str
    name: str = ""
    email: str = ""


@dataclass(frozen=True)
class RedactedText:
    text: str
    found: Counter[str] = field(default_factory=Counter)


def _person_patterns(person: Person) -> list[re.Pattern[str]]:
    parts = [person.email] if person.email else []
    if person.name:
        # The full name first, then each part long enough not to be an ordinary word.
        parts.append(person.name)
        parts += [part for part in person.name.split() if len(part) >= MIN_NAME_PART_LENGTH]
    return [re.compile(rf"(?<!\w){re.escape(part)}(?!\w)", re.IGNORECASE) for part in parts if part.strip()]


def redact(text: str, *, people: Sequence[Person] = ()) -> RedactedText:
    found: Counter[str] = Counter()

    def substitute(pattern: re.Pattern[str], replacement: str, kind: str, value: str) -> str:
        new_value, count = pattern.subn(replacement, value)
        found[kind] += count
        return new_value

    for person in people:
        for pattern in _person_patterns(person):
            text = substitute(pattern, person.pseudonym, "roster", text)
    text = substitute(EMAIL, "[email]", "email", text)
    text = substitute(NATIONAL_ID, "[national-id]", "national_id", text)
    text = substitute(re.compile(settings.EDUAI_STUDENT_ID_PATTERN), "[student-id]", "student_id", text)
    text = substitute(PHONE, "[phone]", "phone", text)
    text = substitute(ADDRESS, "[address]", "address", text)
    return RedactedText(text=text, found=+found)
