"""``manage.py kb_eval`` on tiny fixtures, with the product's chunking, runtime encoder and index."""

import json
import re

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

FACTS = [
    '"Plants use sunlight to make sugar"',
    "Rocks are broken down into sand by erosion",
    "A magnet attracts iron nails",
    "Water boils at 100 degrees Celsius at sea level",
    "The moon orbits the Earth",
    "Sound travels faster in water than in air",
]


def _write_questions(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def materials(tmp_path):
    path = tmp_path / "facts.txt"
    path.write_text("\n".join(FACTS) + "\n\n", encoding="utf-8")
    return path


@pytest.fixture
def questions(tmp_path):
    return _write_questions(
        tmp_path / "questions.jsonl",
        [
            {
                "id": "q1",
                "question": "How do plants get the sugar they need?",
                "gold_passages": ["plants use sunlight to make sugar"],
            },
            {
                "id": "q2",
                "question": "What pulls iron nails?",
                "gold_passages": ["A magnet attracts iron nails"],
            },
            {
                "id": "q3",
                "question": "At what temperature does water boil?",
                "gold_passages": ["Water boils at 100 degrees"],
            },
            {
                "id": "q4",
                "question": "What does the moon go around?",
                "gold_passages": ["not in the materials"],
            },
        ],
    )


def _run(*args):
    from io import StringIO

    out = StringIO()
    call_command("kb_eval", *args, stdout=out)
    return out.getvalue()


def _row(output, name):
    match = re.search(
        rf"^\| {re.escape(name)} \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$", output, re.M
    )
    assert match, output
    return [float(value) for value in match.groups()]


def test_one_document_per_line_prints_recall_mrr_and_chunk_sizes(materials, questions):
    output = _run("--materials", str(materials), "--questions", str(questions), "--one-document-per-line")
    assert "6 documents -> 6 chunks" in output
    assert "min 5, p10 5, median 7, p90 8, max 9" in output
    assert "questions: 4 (1 with no chunk containing a gold passage)" in output
    for name in ("dense", "lexical (BM25)", "hybrid"):
        recall1, recall5, recall10, mrr = _row(output, name)
        assert recall10 == pytest.approx(0.75)  # the question whose gold passage is missing never hits
        assert recall1 <= recall5 <= recall10
        assert recall1 <= mrr <= recall10
    assert _row(output, "dense")[0] == pytest.approx(0.75)


def test_a_directory_of_markdown_is_chunked_by_heading_and_fusion_can_be_tuned(tmp_path, questions):
    folder = tmp_path / "course"
    folder.mkdir()
    (folder / "physics.md").write_text(
        "# Magnets\n\nA magnet attracts iron nails.\n\n"
        "# Heat\n\nWater boils at 100 degrees Celsius at sea level.\n",
        encoding="utf-8",
    )
    (folder / "biology.md").write_text("# Plants\n\nPlants use sunlight to make sugar.\n", encoding="utf-8")
    tune = _write_questions(
        tmp_path / "train.jsonl",
        [
            {
                "question": "Why are nails pulled by magnets?",
                "gold_passages": ["A magnet attracts iron nails"],
            },
            {"question": "What do plants make with sunlight?", "gold_passages": ["make sugar"]},
            {"question": "At what temperature does water boil?", "gold_passages": ["Water boils"]},
        ],
    )
    output = _run("--materials", str(folder), "--questions", str(questions), "--tune-on", str(tune))
    assert "2 documents -> 3 chunks" in output
    assert "left out 1 questions that are also in --questions" in output
    assert "tuned on 2 training questions" in output
    assert _row(output, "hybrid")[2] == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "line 1: not JSON"),
        ('{"question": "x", "gold_passages": []}\n', 'line 1: "gold_passages" must be a non-empty list'),
        ('{"question": "", "gold_passages": ["a"]}\n', 'line 1: "question" must be a non-empty string'),
        ("\n", "holds no questions"),
    ],
)
def test_bad_questions_files_are_refused_with_the_line(materials, tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(message)):
        _run("--materials", str(materials), "--questions", str(path))


def test_missing_materials_and_non_model_encoder_are_refused(materials, questions, tmp_path):
    with pytest.raises(CommandError, match="does not exist"):
        _run("--materials", str(tmp_path / "nowhere"), "--questions", str(questions))
    with pytest.raises(CommandError, match="not a transformers model directory"):
        _run("--materials", str(materials), "--questions", str(questions), "--encoder", str(tmp_path))
    with pytest.raises(CommandError, match="--dense-weight"):
        _run("--materials", str(materials), "--questions", str(questions), "--dense-weight", "2")
