"""Small graded fixtures written for these tests (no dataset text)."""

import itertools

from grading.scoring import GradingItem

QUESTION = "Why do plants need sunlight?"
REFERENCES = ("Plants use the energy of sunlight to make their food, sugar, by photosynthesis.",)
RUBRIC = (
    {"name": "Photosynthesis", "points": 2, "description": "names photosynthesis as the process"},
    {"name": "Energy for food", "points": 2, "description": "light energy is used to make sugar food"},
)
CORRECT = (
    "They use light energy to make food by photosynthesis.",
    "Sunlight gives plants the energy to make sugar in photosynthesis.",
    "Plants make their own food from light through photosynthesis.",
)
WRONG = (
    "Because plants like to be warm.",
    "So they can see where they grow.",
    "Plants need water and soil.",
)

CONCEPTS = (
    ("light energy", "the sun's energy", "energy from sunlight"),
    ("photosynthesis", "the photosynthesis process", "photosynthesising in leaves"),
    ("make sugar", "produce glucose", "make their food"),
)
FILLERS = ("I think", "In my opinion", "Basically", "We learned that", "The answer is")


def item(answer: str, *, prompt_id: str = "plants", max_score: float = 4, item_id: str = "") -> GradingItem:
    return GradingItem(
        prompt_id=prompt_id,
        question=QUESTION,
        reference_answers=REFERENCES,
        rubric=RUBRIC,
        answer=answer,
        min_score=0,
        max_score=max_score,
        item_id=item_id,
    )


def concept_answers() -> list[tuple[str, int]]:
    """Answers covering 0-3 of the three concepts; the score is how many they cover."""
    rows = []
    variants = itertools.cycle(range(3))
    fillers = itertools.cycle(FILLERS)
    for mask in itertools.product((0, 1), repeat=3):
        for _ in range(6):
            variant = next(variants)
            parts = [CONCEPTS[c][variant] for c in range(3) if mask[c]]
            body = " and ".join(parts) if parts else "plants grow tall in the garden with water"
            rows.append((f"{next(fillers)} plants use {body}.", sum(mask)))
    return rows
