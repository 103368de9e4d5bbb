"""Written feedback per rubric criterion: strengths, what is missing, a next step.

The runtime's generator (by default the bundled SmolLM2-135M) writes each criterion's three
lines from a short prompt grounded in the rubric and the reference answers. Small models often
answer off-format, echo the prompt or copy the reference: every line is checked, and a line that
fails is rebuilt from the criterion's result (its score, whether it was met, the rubric's
description). Nothing released to a student contains a long run of words from a reference
answer: such runs are cut out (``reference_overlap_remove``) as the last step, whoever wrote the
line.

Measured with the bundled SmolLM2-135M-Instruct (2026-11-30, osmosis fixture of the tests): shown
the reference, it copied it verbatim; without it, it explained the topic, echoed the answer or
repeated headings instead of advising, so every line it wrote failed the checks and the template
lines went out. A larger generator (``EDUAI_GENERATOR_MODEL``, or an OpenAI-compatible server)
gets its advice through the same checks.
"""

import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from eduai.documents.stopwords import ENGLISH_STOPWORDS
from eduai.ml import runtime
from eduai.ml.generator import GenerationRequest

logger = logging.getLogger(__name__)

# A run of this many words shared with a reference answer counts as revealing it.
OVERLAP_WORDS = 6
MAX_NEW_TOKENS = 48
# The longest a grade waits for its feedback; the templates stand in after that.
GENERATION_TIMEOUT_SECONDS = 600.0
LINE_MIN_CHARS = 8
LINE_MAX_CHARS = 300
FIELDS = ("strengths", "missing", "next_step")
_LABELS = {"strengths": "strength", "missing": "missing", "next_step": "next step"}
# How messages to instructors name the fields.
FIELD_NAMES = {"strengths": "strengths", "missing": "what is missing", "next_step": "next step"}
# The longest an instructor's edit of one field of a criterion's feedback may be.
INSTRUCTOR_LINE_MAX_CHARS = 1000
_LINE = re.compile(
    r"^\W*(strengths?|missing|what is missing|next steps?)\W*[:\-]\s*(.+)$", re.IGNORECASE | re.MULTILINE
)
_WORD = re.compile(r"\w+", re.UNICODE)
# Phrases that show the model echoed its instructions instead of answering.
_ECHOES = (
    "student answer:",
    "criterion:",
    "task:",
    "score on it:",
    "ideas the answer lacks",
    "reference:",
    "you are a kind teacher",
    "assistant",
    "as an ai",
)

SYSTEM_PROMPT = (
    "You are a kind teacher. In one or two short sentences, tell the student what to do next to "
    "improve their answer on this rubric criterion. Do not write the answer for them."
)
KEY_TERMS = 5
_IMPERATIVES = frozenset(
    [
        "add",
        "explain",
        "include",
        "mention",
        "describe",
        "try",
        "use",
        "give",
        "state",
        "name",
        "revise",
        "check",
        "compare",
        "show",
        "define",
        "write",
        "think",
        "consider",
        "review",
        "expand",
        "clarify",
        "focus",
        "make",
        "support",
        "connect",
        "link",
    ]
)


@dataclass(frozen=True)
class CriterionInput:
    """What the feedback for one criterion is written from (the answer already redacted)."""

    name: str
    description: str
    score: float
    max_points: float
    met: bool
    evidence: str


def _words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def _ngrams(words: Sequence[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def reference_overlap(text: str, references: Sequence[str], *, n: int = OVERLAP_WORDS) -> bool:
    """Whether ``text`` shares a run of ``n`` words with any reference answer."""
    reference_grams = set().union(*(_ngrams(_words(reference), n) for reference in references))
    return bool(_ngrams(_words(text), n) & reference_grams)


def reference_overlap_remove(text: str, references: Sequence[str], *, n: int = OVERLAP_WORDS) -> str:
    """``text`` with every run of ``n`` or more words shared with a reference replaced by "…"."""
    reference_grams = set().union(*(_ngrams(_words(reference), n) for reference in references))
    if not reference_grams:
        return text
    matches = list(_WORD.finditer(text))
    words = [match.group().lower() for match in matches]
    covered = [False] * len(words)
    for i in range(len(words) - n + 1):
        if tuple(words[i : i + n]) in reference_grams:
            for j in range(i, i + n):
                covered[j] = True
    if not any(covered):
        return text
    pieces: list[str] = []
    position = 0
    i = 0
    while i < len(matches):
        if not covered[i]:
            i += 1
            continue
        start = i
        while i < len(matches) and covered[i]:
            i += 1
        pieces.append(text[position : matches[start].start()])
        pieces.append("…")
        position = matches[i - 1].end()
    pieces.append(text[position:])
    return re.sub(r"\s+", " ", "".join(pieces)).strip()


def missing_terms(answer: str, references: Sequence[str], *, limit: int = KEY_TERMS) -> list[str]:
    """Key words of the reference answers that the answer never uses (single words: a hint of
    what is missing that does not give the reference away), in the references' order."""
    used = {word[:5] for word in _words(answer)}
    terms: list[str] = []
    for reference in references:
        for word in _words(reference):
            if len(word) < 5 or word in ENGLISH_STOPWORDS or word.isdigit() or word[:5] in used:
                continue
            if word not in terms:
                terms.append(word)
    return terms[:limit]


def _prompt(*, question: str, criterion: CriterionInput, terms: Sequence[str], answer: str) -> str:
    return (
        f"Task: {question[:300]}\n"
        f"Rubric criterion: {criterion.name}. {criterion.description[:200]}\n"
        f"Score on it: {criterion.score:g} of {criterion.max_points:g}\n"
        + (f"Ideas the answer lacks: {', '.join(terms)}\n" if terms else "")
        + f"Student answer: {answer[:500]}"
    )


def _advice(output: str) -> str:
    """The first one or two complete sentences of the model's reply, without a label."""
    text = re.sub(r"^\W*(advice|next steps?|feedback)\W*[:\-]\s*", "", output.strip(), flags=re.IGNORECASE)
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(text.split()))
    complete = [sentence for sentence in sentences if sentence.endswith((".", "!", "?"))]
    return " ".join(complete[:2]).strip()


def _is_advice(line: str) -> bool:
    """Advice speaks to the student ("you", "your") or tells them what to do (an imperative);
    a small model's off-task replies (an explanation of the topic, a verdict, a list of headings)
    do neither, or repeat themselves."""
    words = _words(line)
    if not words or len(set(words)) < 0.6 * len(words):
        return False
    return bool({"you", "your", "yourself"} & set(words)) or words[0] in _IMPERATIVES


def _parse(output: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for label, text in _LINE.findall(output):
        label = label.lower()
        field = (
            "strengths" if label.startswith("strength") else "missing" if "missing" in label else "next_step"
        )
        found.setdefault(field, text.strip().strip("*").strip())
    return found


def _usable(line: str, *, references: Sequence[str], answer: str, criterion: CriterionInput) -> bool:
    if not LINE_MIN_CHARS <= len(line) <= LINE_MAX_CHARS:
        return False
    if criterion.description and reference_overlap(line, [criterion.description], n=8):
        return False  # the rubric read back
    lowered = line.lower()
    if any(echo in lowered for echo in _ECHOES) or lowered.startswith(("i ", "i'm")):
        return False
    # Copying long runs of the student's own answer back to them is not feedback.
    return not reference_overlap(line, references) and not reference_overlap(line, [answer], n=10)


def template_feedback(criterion: CriterionInput, terms: Sequence[str] = ()) -> dict[str, str]:
    """Feedback built from the criterion's result, its rubric description and the key words the
    answer lacks: used wherever the model's line is unusable."""
    name = criterion.name
    evidence = " ".join(criterion.evidence.split())[:160]
    if criterion.met:
        # The quoted sentence keeps its own full stop: “... membrane.”, never “... membrane.”.
        quoted = f": “{evidence}”" + ("" if evidence.endswith((".", "!", "?", "…")) else ".")
        strengths = f"Your answer meets the criterion “{name}”" + (quoted if evidence else ".")
        missing = "Nothing essential is missing for this criterion."
        next_step = f"Keep “{name}” this clear and check the other criteria."
    else:
        if criterion.score > 0:
            strengths = f"You earned {criterion.score:g} of {criterion.max_points:g} points on “{name}”."
        else:
            strengths = f"Your answer does not yet address “{name}”."
        description = criterion.description.strip().rstrip(".")
        missing = f"What “{name}” asks for" + (
            f": {description}." if description else " is not fully there yet."
        )
        if terms:
            missing += f" Ideas to consider: {', '.join(terms)}."
        next_step = f"Revise your answer so that it covers “{name}” fully, using the rubric as a checklist."
    return {"strengths": strengths, "missing": missing, "next_step": next_step}


def feedback_write(
    *,
    question: str,
    references: Sequence[str],
    answer: str,
    criteria: Sequence[CriterionInput],
    scope: str = "",
    use_model: bool = True,
    timeout: float = GENERATION_TIMEOUT_SECONDS,
) -> list[dict[str, Any]]:
    """Feedback for every criterion: the model's lines where usable, template lines elsewhere.

    ``answer`` must already be redacted. The model is asked for the next step (one or two
    sentences) from the criterion, its score and the reference's key words the answer lacks, not
    the reference itself (a small model copies what it is shown); a reply with labelled
    ``Strength:``/``Missing:``/``Next step:`` lines (larger models) fills those fields too. The
    criteria's prompts are sent together, so the runtime decodes them in one batch; past
    ``timeout`` seconds the templates stand in.
    """
    terms = missing_terms(answer, references)
    outputs: list[str] = [""] * len(criteria)
    # A criterion met in full needs no advice: the model is asked only about the others.
    asked = [i for i, criterion in enumerate(criteria) if not criterion.met]
    if use_model and asked:
        requests = [
            GenerationRequest(
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {
                        "role": "user",
                        "content": _prompt(
                            question=question, criterion=criterion, terms=terms, answer=answer
                        ),
                    },
                ],
                max_new_tokens=MAX_NEW_TOKENS,
            )
            for criterion in (criteria[i] for i in asked)
        ]
        try:
            with ThreadPoolExecutor(max_workers=len(requests)) as pool:
                results = list(
                    pool.map(
                        lambda request: runtime.generate(request, scope=scope, timeout=timeout), requests
                    )
                )
            for i, result in zip(asked, results, strict=True):
                outputs[i] = result.text
        except Exception:  # feedback must never stop a grade: the template stands in
            logger.exception("Feedback generation failed; using template feedback")
    feedback: list[dict[str, Any]] = []
    for criterion, output in zip(criteria, outputs, strict=True):
        parsed = _parse(output)
        if not parsed and output.strip():
            advice = _advice(output)
            parsed = {"next_step": advice} if _is_advice(advice) else {}
        template = template_feedback(criterion, terms if not criterion.met else ())
        item: dict[str, Any] = {"criterion": criterion.name}
        from_model = 0
        for field in FIELDS:
            line = parsed.get(field, "")
            usable = _usable(line, references=references, answer=answer, criterion=criterion)
            item[field] = line if usable else template[field]
            from_model += usable
            # The last guard, whoever wrote the line (a rubric description may quote a reference).
            item[field] = reference_overlap_remove(item[field], references)
        item["source"] = "model" if from_model == len(FIELDS) else "mixed" if from_model else "template"
        feedback.append(item)
    return feedback


def feedback_with_points(
    feedback: Sequence[dict[str, Any]], criteria: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The feedback as released to the student: each criterion's item with the points the grade
    gave it (``score`` of ``max_points``, from the grade's ``criteria``)."""
    points = {criterion["name"]: criterion for criterion in criteria}
    released = []
    for item in feedback:
        criterion = points.get(item.get("criterion", ""))
        if criterion is not None and not item.get("comment"):
            item = {**item, "score": float(criterion["score"]), "max_points": float(criterion["max_points"])}
        released.append(item)
    return released


def feedback_as_text(feedback: Sequence[dict[str, Any]]) -> str:
    """Plain text of the feedback, for the LMS gradebook comment."""
    blocks = []
    for item in feedback:
        if item.get("comment"):
            blocks.append(f"{item.get('criterion', '')}: {item['comment']}")
            continue
        heading = item.get("criterion", "")
        if item.get("score") is not None and item.get("max_points") is not None:
            heading += f" ({float(item['score']):g} of {float(item['max_points']):g} points)"
        lines = [f"{_LABELS[field].capitalize()}: {item[field]}" for field in FIELDS if item.get(field)]
        blocks.append(f"{heading}\n" + "\n".join(lines))
    return "\n\n".join(blocks)
