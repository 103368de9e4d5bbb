from dataclasses import replace

import pytest

from eduai.ml import runtime
from eduai.ml.generator import GenerationResult
from grading import feedback
from grading.feedback import (
    CriterionInput,
    feedback_as_text,
    feedback_write,
    missing_terms,
    reference_overlap,
    reference_overlap_remove,
    template_feedback,
)

from .conftest import REFERENCE

MET = CriterionInput(
    name="Membrane",
    description="Says the membrane is semipermeable.",
    score=3,
    max_points=3,
    met=True,
    evidence="",
)
MISSED = CriterionInput(
    name="Concentration", description="Names the direction.", score=1, max_points=3, met=False, evidence=""
)


def test_reference_overlap_finds_six_shared_words_in_a_row():
    assert reference_overlap("So: water molecules across a semipermeable membrane, yes.", [REFERENCE])
    assert not reference_overlap("Water crosses the membrane toward more solute.", [REFERENCE])
    assert not reference_overlap("anything", [])


def test_reference_overlap_remove_cuts_every_shared_run():
    text = "Remember: the diffusion of water molecules across a semipermeable membrane matters. Good luck."
    repaired = reference_overlap_remove(text, [REFERENCE])
    assert not reference_overlap(repaired, [REFERENCE])
    assert repaired.startswith("Remember: …")
    assert repaired.endswith("matters. Good luck.")
    assert (
        reference_overlap_remove("Nothing shared here at all today.", [REFERENCE])
        == "Nothing shared here at all today."
    )


def test_template_feedback_is_built_from_the_criterion_result():
    met, missed = template_feedback(MET), template_feedback(MISSED)
    assert "meets the criterion “Membrane”" in met["strengths"]
    assert "1 of 3 points" in missed["strengths"]
    assert "Names the direction" in missed["missing"]
    # The evidence is quoted with one full stop: its own, or one added after the quote.
    sentence = template_feedback(replace(MET, evidence="Water crosses a semipermeable membrane."))
    assert sentence["strengths"].endswith(": “Water crosses a semipermeable membrane.”")
    fragment = template_feedback(replace(MET, evidence="a semipermeable membrane"))
    assert fragment["strengths"].endswith(": “a semipermeable membrane”.")


def _generating(monkeypatch, outputs):
    calls = []

    def generate(request, *, scope="", timeout=None):
        calls.append(request)
        content = request.messages[-1]["content"]
        return GenerationResult(text=outputs(content), prompt_tokens=1, completion_tokens=1)

    monkeypatch.setattr(runtime, "generate", generate)
    return calls


def test_usable_model_lines_are_kept(monkeypatch):
    calls = _generating(
        monkeypatch,
        lambda content: (
            "Strength: You named the membrane clearly.\n**Missing:** An example from a plant cell.\n"
            "Next step: Describe what happens to a cell in salty water."
        ),
    )
    (item,) = feedback_write(
        question="Explain osmosis.", references=[REFERENCE], answer="an answer", criteria=[MISSED]
    )
    assert item == {
        "criterion": "Concentration",
        "strengths": "You named the membrane clearly.",
        "missing": "An example from a plant cell.",
        "next_step": "Describe what happens to a cell in salty water.",
        "source": "model",
    }
    # The prompt is short and grounded in the rubric and the reference's key words, never the
    # reference itself (a small model copies it).
    prompt = calls[0].messages[-1]["content"]
    assert "Rubric criterion: Concentration" in prompt
    assert "Ideas the answer lacks: osmosis, diffusion, water, molecules, across" in prompt
    assert not reference_overlap(prompt, [REFERENCE], n=4)
    assert len(prompt) < 1000


@pytest.mark.parametrize(
    "output",
    [
        "",  # nothing
        "I am a helpful assistant.",  # off-format
        "Strength: ...\nMissing: ...\nNext step: ...",  # the template echoed
        "Strength: Student answer: an answer\nMissing: Criterion: x\nNext step: Task: Explain osmosis",
        "I am a helpful assistant and I can help.",
        # the reference answer verbatim
        f"Strength: good\nMissing: {REFERENCE}\nNext step: Write: {REFERENCE}",
    ],
)
def test_unusable_model_output_falls_back_to_the_template(monkeypatch, output):
    _generating(monkeypatch, lambda content: output)
    (item,) = feedback_write(question="Q", references=[REFERENCE], answer="an answer", criteria=[MISSED])
    template = template_feedback(MISSED, missing_terms("an answer", [REFERENCE]))
    assert item["missing"] == template["missing"]
    assert item["next_step"] == template["next_step"]
    assert item["source"] in {"template", "mixed"}
    assert not reference_overlap(" ".join(item[f] for f in feedback.FIELDS), [REFERENCE])


def test_the_rubric_read_back_is_not_feedback(monkeypatch):
    wordy = CriterionInput(
        name="Direction",
        description="Names the direction in which the water moves across the membrane.",
        score=0,
        max_points=3,
        met=False,
        evidence="",
    )
    _generating(monkeypatch, lambda content: "Names the direction in which the water moves across it.")
    (item,) = feedback_write(question="Q", references=[REFERENCE], answer="an answer", criteria=[wordy])
    assert item["source"] == "template"


def test_a_plain_sentence_becomes_the_next_step(monkeypatch):
    _generating(
        monkeypatch, lambda content: "Try explaining which way the water moves. Then add an example. More."
    )
    (item,) = feedback_write(question="Q", references=[REFERENCE], answer="an answer", criteria=[MISSED])
    assert item["next_step"] == "Try explaining which way the water moves. Then add an example."
    assert item["source"] == "mixed"
    assert item["missing"].endswith("Ideas to consider: osmosis, diffusion, water, molecules, across.")


def test_missing_terms_are_the_reference_words_the_answer_lacks():
    answer = "Water goes through a membrane that is semipermeable."
    assert missing_terms(answer, [REFERENCE]) == ["osmosis", "diffusion", "molecules", "across", "region"]
    assert missing_terms(REFERENCE, [REFERENCE]) == []


def test_off_task_replies_are_not_advice(monkeypatch):
    for reply in [
        "SECTION 1 SECTION 2 SECTION 3 SECTION 4.",
        "The answer is not a word.",
        "Osmosis is a process that occurs when water passes a membrane.",
        "Try to explain the direction of water flow and this sentence never ends because",
    ]:
        _generating(monkeypatch, lambda content, reply=reply: reply)
        (item,) = feedback_write(question="Q", references=[REFERENCE], answer="an answer", criteria=[MISSED])
        assert item["source"] == "template", reply


def test_met_criteria_need_no_model_call(monkeypatch):
    calls = _generating(monkeypatch, lambda content: "Add an example.")
    items = feedback_write(question="Q", references=[REFERENCE], answer="a", criteria=[MET, MISSED])
    assert len(calls) == 1
    assert [item["source"] for item in items] == ["template", "mixed"]


def test_a_generator_failure_never_stops_the_grade(monkeypatch):
    def broken(request, *, scope="", timeout=None):
        raise RuntimeError("model gone")

    monkeypatch.setattr(runtime, "generate", broken)
    items = feedback_write(question="Q", references=[REFERENCE], answer="a", criteria=[MET, MISSED])
    assert [item["source"] for item in items] == ["template", "template"]


def test_a_rubric_description_quoting_the_reference_is_repaired():
    quoting = CriterionInput(
        name="Definition", description=REFERENCE, score=0, max_points=4, met=False, evidence=""
    )
    (item,) = feedback_write(
        question="Q", references=[REFERENCE], answer="a", criteria=[quoting], use_model=False
    )
    assert not reference_overlap(item["missing"], [REFERENCE])
    assert "…" in item["missing"]


def test_feedback_as_text_for_the_gradebook():
    text = feedback_as_text(
        [{"criterion": "Instructor", "comment": "Well done."}, {"criterion": "A", **template_feedback(MET)}]
    )
    assert text.startswith("Instructor: Well done.\n\nA\nStrength: Your answer meets")
