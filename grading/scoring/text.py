"""Text helpers shared by the scorers: tokens, crude stems, sentences, negation."""

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")

# The scorers' feature vocabulary (not eduai.documents.stopwords): the committed cold-start
# coefficients were fitted on features computed with exactly this list; negations are kept.
STOPWORDS = frozenset(
    """a an the and or but if then so of to in on at by for with from into onto about as is are was were be
    been being am do does did done have has had having it its it's this that these those there here i me
    my we our you your he she him her his they them their what which who whom whose when where why how
    can could would should will shall may might must also very just than too because since while up down
    out over under again further once all any both each few more most other some such only own same
    s t""".split()  # noqa: SIM905
)
NEGATIONS = frozenset(
    """not no never none nothing nobody neither nor cannot can't don't doesn't didn't isn't aren't wasn't
    weren't won't wouldn't shouldn't couldn't hasn't haven't hadn't without""".split()  # noqa: SIM905
)
_SUFFIXES = (
    "ational",
    "ization",
    "ness",
    "ments",
    "ment",
    "ings",
    "ing",
    "edly",
    "ies",
    "ied",
    "es",
    "ed",
    "ly",
    "s",
)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A crude suffix stripper: enough to match "heats"/"heated"/"heating" with "heat"."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            if suffix in ("ies", "ied"):
                word += "y"
            break
    return word


def content_stems(text: str) -> list[str]:
    return [stem(word) for word in tokens(text) if word not in STOPWORDS]


def sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE.split(text) if part.strip()]


def negation_count(text: str) -> int:
    lowered = text.lower().replace("n't", " not")
    return sum(1 for word in _WORD.findall(lowered) if word in NEGATIONS) + lowered.count("n't")


def char_ngrams(text: str, n: int = 3) -> set[str]:
    squeezed = " ".join(tokens(text))
    return {squeezed[i : i + n] for i in range(max(0, len(squeezed) - n + 1))}
