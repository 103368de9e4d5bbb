"""Guardrails around the tutor: moderation, prompt-injection handling and the answer-leak check.

All of them are plain, fast text checks that run in the request or between streamed tokens:

- ``moderate`` classifies text into self-harm, harassment, sexual content or violence with
  patterns (English and Chinese). It aims at clear cases; the course's subject matter ("cell
  death", "the war of 1812") is not flagged.
- ``looks_like_injection`` spots text that tries to give the model instructions;
  ``neutralise`` removes our prompt's delimiters and instruction-like lines from data, so that
  retrieved material and student text stay data.
- ``leak_score`` measures how much of an open assignment's reference answer an answer
  contains (word n-gram containment); ``LeakGuard`` applies it while an answer streams.
"""

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    SELF_HARM = "self_harm"
    HARASSMENT = "harassment"
    SEXUAL = "sexual"
    VIOLENCE = "violence"


def _patterns(*expressions: str) -> list[re.Pattern[str]]:
    return [re.compile(expression, re.IGNORECASE) for expression in expressions]


# Order matters: self-harm first (it gets a supportive answer, not a refusal).
_MODERATION: dict[Category, list[re.Pattern[str]]] = {
    Category.SELF_HARM: _patterns(
        r"\b(kill|hurt|harm|cut|cutt|starv)(e|ing)?\s+my\s?self\b",
        r"\bsuicid(e|al)\b",
        r"\b(want|wanna|going)\s+(to\s+)?die\b",
        r"\bend(ing)?\s+(my\s+(own\s+)?life|it\s+all)\b",
        r"\bno\s+reason\s+to\s+live\b",
        r"\bself[-\s]?harm",
        r"自杀|不想活|轻生|想死|自残",
    ),
    Category.HARASSMENT: _patterns(
        r"\byou\s*(are|'re|r)\s+(a\s+|an\s+|so\s+)?(stupid|idiot|moron|worthless|useless|pathetic|loser|dumb)\b",
        r"\b(stupid|dumb|fat|ugly)\s+(bitch|bastard|idiot|loser)\b",
        r"\b(go\s+)?kill\s+yourself\b",
        r"\bi\s+hate\s+(you|him|her|them)\b",
        r"\bshut\s+up\b",
        r"\bfuck\s+(you|off)\b",
        r"\b(bitch|bastard|retard)\b",
        r"傻逼|去死|废物|白痴",
    ),
    Category.SEXUAL: _patterns(
        r"\bporn\w*\b",
        r"\b(nude|naked)\s+(pic|photo|picture|image)s?\b",
        r"\bhave\s+sex\s+with\b",
        r"\bsexting\b",
        r"\b(blowjob|handjob|orgasm|erotic)\w*\b",
        r"\bsex(y|ual)?\s+(story|roleplay|chat)\b",
        r"色情|裸照|做爱",
    ),
    Category.VIOLENCE: _patterns(
        r"\bi\s*('m|\s+am|\s+will|'ll|\s+want\s+to|\s+wanna)\s+(going\s+to\s+)?(kill|shoot|stab|hurt|beat\s+up)\s+"
        r"(you|him|her|them|my|the|everyone|people|somebody|someone)\b",
        r"\b(make|build)\s+(a\s+)?(bomb|pipe\s*bomb|explosive)s?\b",
        r"\bshoot\s+up\s+(the|my|a)\s+(school|class)\b",
        r"\bhow\s+(do\s+i|to|can\s+i)\s+(kill|poison|stab|murder)\s+(a\s+)?(person|someone|somebody|my|him|her|people)\b",
        r"杀了你|炸弹制作|我要杀",
    ),
}


def moderate(text: str) -> Category | None:
    """The first category the text clearly falls into, or None."""
    for category, patterns in _MODERATION.items():
        if any(pattern.search(text) for pattern in patterns):
            return category
    return None


# --- Prompt injection ------------------------------------------------------------------------
_INJECTION = _patterns(
    r"\b(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+|my\s+)?"
    r"(previous|prior|above|earlier|system|preceding)?\s*(instructions|rules|prompts?|directions)\b",
    r"\b(reveal|print|show|repeat|output|tell\s+me)\s+(me\s+)?(the\s+|your\s+)?(system\s+prompt|instructions|"
    r"hidden\s+prompt|reference\s+answers?|answer\s+key)\b",
    r"\byou\s+are\s+now\b",
    r"\b(act|behave)\s+as\s+(if\s+you\s+were\s+)?(an?\s+)?(unrestricted|different|new|jailbroken|evil)\b",
    r"\bpretend\s+(to\s+be|you\s+are)\b",
    r"\b(developer|god|dan|jailbreak)\s+mode\b",
    r"\bnew\s+instructions?\s*:",
    r"^\s*(system|assistant)\s*:",
    r"忽略(之前|以上|前面)?的?(所有)?(指令|指示|规则)|系统提示",
)
DELIMITERS = ("material", "passage", "question", "instructor", "history")
_DELIMITER = re.compile(rf"</?\s*({'|'.join(DELIMITERS)})\b[^>]*>", re.IGNORECASE)
# The chat template's own markers (SmolLM2's ChatML): data never opens a new turn.
_CHAT_MARKERS = re.compile(r"<\|?(im_start|im_end|endoftext|system|user|assistant)\|?>", re.IGNORECASE)
INSTRUCTION_REMOVED = "[instruction-like text removed]"


def looks_like_injection(text: str) -> bool:
    return any(pattern.search(line) for line in text.splitlines() or [text] for pattern in _INJECTION)


def neutralise(text: str, *, drop_instructions: bool) -> str:
    """Text safe to put between our delimiters: none of them, no chat-template markers, and
    (for retrieved material) no lines that give the model instructions."""
    text = _CHAT_MARKERS.sub(" ", _DELIMITER.sub(" ", text))
    if drop_instructions:
        text = "\n".join(
            INSTRUCTION_REMOVED if looks_like_injection(line) else line for line in text.splitlines()
        )
    return text


# --- Answer leak -------------------------------------------------------------------------------
_WORD = re.compile(r"[\u3400-\u9fff]|[^\W_]+", re.UNICODE)
# Function words only (not eduai.documents.stopwords): the leak check's word n-grams keep the rest.
STOPWORDS = frozenset(
    {
        "a",
        "an",
        "the",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "and",
        "or",
        "but",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "as",
        "into",
        "than",
        "then",
        "so",
        "such",
        "which",
        "who",
        "whom",
        "what",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "can",
        "could",
        "will",
        "would",
        "should",
        "may",
        "might",
        "must",
        "has",
        "have",
        "had",
        "not",
        "no",
    }
)
LEAK_THRESHOLD = 0.5


def _words(text: str) -> list[str]:
    return [word for word in (match.lower() for match in _WORD.findall(text)) if word not in STOPWORDS]


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[index : index + n]) for index in range(len(words) - n + 1)}


def leak_score(answer: str, references: Iterable[str]) -> float:
    """The largest share of one reference answer's content-word n-grams found in ``answer``.

    Trigrams for references of six content words or more (a paraphrase of the idea is fine, the
    reference's own wording is not); single words for short ones ("mitochondria", "42").
    """
    answer_words = _words(answer)
    best = 0.0
    for reference in references:
        reference_words = _words(reference)
        if not reference_words:
            continue
        n = 3 if len(reference_words) >= 6 else 1
        wanted = _ngrams(reference_words, n)
        if not wanted:
            continue
        best = max(best, len(wanted & _ngrams(answer_words, n)) / len(wanted))
    return best


_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?(?![\w])")
# Cosine between an answer and a reference answer (bundled MiniLM) from which the answer counts
# as giving the reference away even in other words.
SIMILARITY_THRESHOLD = 0.8
SENTENCE_END = re.compile("[.!?\u3002\uff01\uff1f\n]")  # also the ideographic full stop, ! and ?


@dataclass(frozen=True)
class OpenAssignment:
    """What the guard needs of an open assignment: its task and its reference answers."""

    prompt: str
    references: tuple[str, ...]


def _numbers(text: str) -> set[str]:
    return {number.replace(",", ".") for number in _NUMBER.findall(text)}


def result_numbers(assignment: OpenAssignment) -> set[str]:
    """Numbers in the reference answers that the task does not give: the results to find."""
    given = _numbers(assignment.prompt)
    return {number for reference in assignment.references for number in _numbers(reference)} - given


# A number that names something ("homework 5", "question 3"), not a value.
_LABEL_NUMBER = re.compile(
    r"\b(?:homework|assignment|question|task|exercise|problem|part|week|chapter|unit|lesson|number|no\.?)"
    r"\s*#?\s*(\d+)\b|#\s*(\d+)\b",
    re.IGNORECASE,
)


def _label_numbers(text: str) -> set[str]:
    return {first or second for first, second in _LABEL_NUMBER.findall(text)}


def states_a_result(answer: str, assignments: Iterable[OpenAssignment], *, given: str = "") -> bool:
    """Whether the answer states a result number. Numbers that label something in ``given``
    (the student's question: "homework 5") do not count; a value the student guesses does
    ("is it 18 J?"): confirming it would give the result away too."""
    wanted = {number for assignment in assignments for number in result_numbers(assignment)}
    return bool((wanted - _label_numbers(given)) & _numbers(answer))


@dataclass
class GuardVerdict:
    leak: bool = False
    leak_score: float = 0.0
    moderation: Category | None = None

    @property
    def stop(self) -> bool:
        return self.leak or self.moderation is not None


class StreamGuard:
    """Checks an answer while it streams and holds its last few words back, so that the words
    that would complete a leak or an unsafe sentence are not sent before the check sees them.

    A leak is the reference's wording (``leak_score``), a result number the task asks for, or
    (with ``similarity``, a function giving the answer's best cosine to a reference answer,
    checked at each sentence end) the reference's meaning in other words.
    """

    def __init__(
        self,
        *,
        assignments: Sequence[OpenAssignment],
        hold_back_words: int,
        similarity: Callable[[str], float] | None = None,
        question: str = "",
    ) -> None:
        self.assignments = [
            assignment for assignment in assignments if any(r.strip() for r in assignment.references)
        ]
        self.references = [
            reference for assignment in self.assignments for reference in assignment.references
        ]
        self.hold_back_words = hold_back_words
        self.similarity = similarity if self.assignments else None
        self.question = question
        self.text = ""
        self.sent = 0
        self.verdict = GuardVerdict()

    def _check(self, *, sentence_end: bool) -> None:
        if self.assignments:
            score = leak_score(self.text, self.references)
            if self.similarity is not None and sentence_end and self.text.strip():
                score = max(score, self.similarity(self.text) * LEAK_THRESHOLD / SIMILARITY_THRESHOLD)
            if states_a_result(self.text, self.assignments, given=self.question):
                score = max(score, 1.0)
            self.verdict.leak_score = max(self.verdict.leak_score, score)
            self.verdict.leak = self.verdict.leak_score >= LEAK_THRESHOLD
        self.verdict.moderation = moderate(self.text)

    def feed(self, piece: str) -> str:
        """Add a decoded piece; return what may be sent now ("" while held back or stopped)."""
        self.text += piece
        self._check(sentence_end=bool(SENTENCE_END.search(piece)))
        if self.verdict.stop:
            return ""
        # Send up to the start of the last ``hold_back_words`` words.
        starts = [match.start() for match in re.finditer(r"\S+", self.text)]
        if len(starts) <= self.hold_back_words:
            return ""
        cut = starts[-self.hold_back_words] if self.hold_back_words else len(self.text)
        ready = self.text[self.sent : cut]
        self.sent = max(self.sent, cut)
        return ready

    def finish(self) -> str:
        """The rest of the answer, once decoding ended (nothing if a check stopped it)."""
        self._check(sentence_end=True)
        if self.verdict.stop:
            return ""
        rest = self.text[self.sent :]
        self.sent = len(self.text)
        return rest
