"""A student's next step: which knowledge point, at which difficulty, and the checks a generated
practice question must pass before a student sees it (pure functions; services call them).

- The point: the weakest (lowest mastery) knowledge point whose prerequisites are all mastered
  (P(known) >= MASTERED) and which is not mastered itself; a point without a mastery row counts
  at its cold-start prior.
- Difficulty: easy below 0.4 mastery, medium below 0.7, hard above (the question should be one
  the student answers correctly about as often as BKT predicts they can).
- The check: the question and the solution must be usable text (a question of 15-400
  characters, a solution of at least 20, no leftover prompt), share key terms with the course
  material (at least 2 of its 12 most frequent content words, 1 when it has fewer than 4), and
  be close to it in embedding space (cosine >= MIN_SIMILARITY). Otherwise a cloze question is
  built from the material itself: a key sentence with its main term blanked, the sentence as
  the worked solution.
"""

import re
from collections import Counter
from dataclasses import dataclass

from eduai.documents.stopwords import ENGLISH_STOPWORDS

MASTERED = 0.8
MIN_SIMILARITY = 0.35
EXCERPT_CHARACTERS = 700
KEY_TERM_COUNT = 12

# Words too common in course material to be a key term: English stopwords and classroom words.
STOPWORDS = ENGLISH_STOPWORDS | frozenset(
    """answer called course example following just many material much now one question solution
    text three two used uses using write""".split()  # noqa: SIM905
)
WORD = re.compile(r"[A-Za-z][A-Za-z-]{3,}")
SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class PointState:
    point_id: int
    name: str
    mastery: float
    prerequisites: tuple[int, ...]


def next_point(points: list[PointState]) -> PointState | None:
    """The weakest unmastered point whose prerequisites are all mastered (None: nothing to do)."""
    mastery = {point.point_id: point.mastery for point in points}
    ready = [
        point
        for point in points
        if point.mastery < MASTERED and all(mastery.get(p, 0.0) >= MASTERED for p in point.prerequisites)
    ]
    return min(ready, key=lambda point: (point.mastery, point.name), default=None)


def difficulty_for(mastery: float) -> str:
    if mastery < 0.4:
        return "easy"
    return "medium" if mastery < 0.7 else "hard"


def key_terms(text: str, count: int = KEY_TERM_COUNT) -> list[str]:
    words = [word.lower() for word in WORD.findall(text)]
    counts = Counter(word for word in words if word not in STOPWORDS)
    return [word for word, _ in counts.most_common(count)]


def excerpt(text: str, topic: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The part of the material about the topic: from the first sentence naming one of the
    topic's words (else from the start), at most ``limit`` characters, ending on a sentence."""
    sentences = [s.strip() for s in SENTENCE.split(" ".join(text.split())) if s.strip()]
    topic_words = {word.lower() for word in WORD.findall(topic)}
    first = next(
        (i for i, s in enumerate(sentences) if topic_words & {w.lower() for w in WORD.findall(s)}), 0
    )
    chosen: list[str] = []
    for sentence in sentences[first:]:
        if chosen and len(" ".join([*chosen, sentence])) > limit:
            break
        chosen.append(sentence[:limit])
    return " ".join(chosen)


def clean_line(text: str, label: str) -> str:
    """The model's text without a leading label ("Question:") or markdown, on one paragraph."""
    text = text.strip().strip("*#").strip()
    text = re.sub(rf"^\**{label}\**\s*[:.-]\s*\**\s*", "", text, flags=re.IGNORECASE)
    return " ".join(text.split())


def question_from_output(text: str) -> str:
    """The first question the model wrote (up to and including its question mark)."""
    cleaned = clean_line(text.split("\n\n")[0], "question")
    cleaned = clean_line(cleaned, r"\d+")
    mark = cleaned.find("?")
    return cleaned[: mark + 1] if mark >= 0 else cleaned


def solution_from_output(text: str) -> str:
    return clean_line(re.split(r"\n\s*(?:question|note)\s*:", text, flags=re.IGNORECASE)[0], "solution")


def text_problems(question: str, solution: str, material: str) -> list[str]:
    """Why the generated pair cannot be shown (empty: it passes the text checks)."""
    problems = []
    if not 15 <= len(question) <= 400:
        problems.append("the question is missing or of an unusable length")
    if len(solution) < 20:
        problems.append("the worked solution is missing or too short")
    if any(marker in f"{question} {solution}".lower() for marker in ("format:", "course text:", "<|im_")):
        problems.append("the output repeats the prompt")
    terms = key_terms(material)
    needed = 2 if len(terms) >= 4 else 1
    written = {word.lower() for word in WORD.findall(f"{question} {solution}")}
    shared = [term for term in terms if term in written]
    if terms and len(shared) < needed:
        problems.append(f"it shares {len(shared)} of the material's key terms (needs {needed})")
    return problems


@dataclass(frozen=True)
class Practice:
    question: str
    solution: str


def cloze_from_material(text: str, title: str, topic: str) -> Practice | None:
    """A fill-in-the-blank question from the material's most topical sentence (None when the
    material has no sentence to build one from)."""
    terms = key_terms(text)
    topic_words = {word.lower() for word in WORD.findall(topic)}
    sentences = [
        s.strip()
        for s in SENTENCE.split(" ".join(text.split()))
        if 6 <= len(s.split()) <= 45 and any(t in s.lower() for t in terms)
    ]
    if not sentences or not terms:
        return None

    def score(sentence: str) -> tuple[int, int]:
        words = {word.lower() for word in WORD.findall(sentence)}
        return (len(words & topic_words), len(words & set(terms)))

    sentence = max(sentences, key=score)
    words = {word.lower() for word in WORD.findall(sentence)}
    term = next(term for term in terms if term in words)
    blanked = re.sub(rf"\b{re.escape(term)}\b", "_____", sentence, count=1, flags=re.IGNORECASE)
    return Practice(
        question=f"Fill in the blank: {blanked}",
        solution=f'The missing word is "{term}". The material ("{title}") says: {sentence}',
    )
