"""``manage.py grading_eval`` on small CSV fixtures, through the product's scorers."""

import csv
import json

import pytest
from django.core.management import CommandError, call_command

from grading.scoring.evaluation import COLUMNS, OUTPUT_COLUMNS
from tests.grading.scoring.fixtures import CORRECT, QUESTION, REFERENCES, RUBRIC, WRONG, concept_answers

pytestmark = pytest.mark.django_db


def _row(prompt_id, item_id, answer, score, max_score=3):
    return {
        "prompt_id": prompt_id,
        "item_id": item_id,
        "question": QUESTION,
        "reference_answer": json.dumps(list(REFERENCES)),
        "rubric": json.dumps(list(RUBRIC)),
        "answer": answer,
        "score": score,
        "min_score": 0,
        "max_score": max_score,
    }


def _write(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _run(tmp_path, train_rows, test_rows):
    train = _write(tmp_path / "train.csv", train_rows)
    test = _write(tmp_path / "test.csv", test_rows)
    out = tmp_path / "pred.csv"
    printed = []

    class Sink:
        def write(self, text):
            printed.append(text)

        def flush(self):
            pass

    call_command("grading_eval", train=train, test=test, out=out, stdout=Sink())
    with out.open(newline="") as handle:
        predictions = list(csv.DictReader(handle))
    return predictions, "".join(printed)


def test_trained_prompt_and_cold_start_prompt_are_scored_and_measured(tmp_path):
    rows = concept_answers()
    train_rows = [_row("concepts", f"t{i}", answer, score) for i, (answer, score) in enumerate(rows) if i % 4]
    test_rows = [
        _row("concepts", f"e{i}", answer, score) for i, (answer, score) in enumerate(rows) if not i % 4
    ]
    # A prompt with no training rows: cold start, scores 0/1, one answer ungraded.
    test_rows += [_row("unseen", f"c{i}", answer, 1, max_score=1) for i, answer in enumerate(CORRECT)]
    test_rows += [_row("unseen", f"w{i}", answer, 0, max_score=1) for i, answer in enumerate(WRONG)]
    test_rows.append(_row("unseen", "ungraded", CORRECT[0], "", max_score=1))
    predictions, printed = _run(tmp_path, train_rows, test_rows)

    assert list(predictions[0].keys()) == list(OUTPUT_COLUMNS)
    assert [p["item_id"] for p in predictions] == [row["item_id"] for row in test_rows]
    by_id = {p["item_id"]: p for p in predictions}
    for p in predictions:
        assert float(p["predicted_score"]).is_integer()  # integer-scored prompts are rounded
        assert 0 <= float(p["confidence"]) <= 1
    assert all(by_id[f"c{i}"]["predicted_score"] == "1" for i in range(len(CORRECT)))
    assert all(by_id[f"w{i}"]["predicted_score"] == "0" for i in range(len(WRONG)))
    assert "prompt concepts:" in printed
    assert "assignment model" in printed
    assert "prompt unseen:" in printed
    assert "cold_start model" in printed
    assert "mean QWK" in printed
    assert "Pearson r" in printed
    assert "most-confident-50% QWK" in printed
    concepts = next(line for line in printed.splitlines() if line.startswith("prompt concepts:"))
    assert float(concepts.split("QWK ")[1].split(",")[0]) > 0.7


def test_an_empty_train_file_means_cold_start(tmp_path):
    (tmp_path / "train.csv").write_text("")
    test = _write(tmp_path / "test.csv", [_row("q", "a", CORRECT[1], 1, 1), _row("q", "b", WRONG[1], 0, 1)])
    call_command("grading_eval", train=tmp_path / "train.csv", test=test, out=tmp_path / "p.csv")
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert [row["predicted_score"] for row in rows] == ["1", "0"]


def test_bad_csv_files_get_a_clear_error(tmp_path):
    test = _write(tmp_path / "test.csv", [_row("q", "a", "text", 5)])  # 5 > max_score 3
    (tmp_path / "train.csv").write_text("")
    with pytest.raises(CommandError, match=r"line 2: score 5\.0 is outside"):
        call_command("grading_eval", train=tmp_path / "train.csv", test=test, out=tmp_path / "p.csv")
    (tmp_path / "bad.csv").write_text("prompt_id,answer\nq,text\n")
    with pytest.raises(CommandError, match="missing column"):
        call_command("grading_eval", train=tmp_path / "bad.csv", test=test, out=tmp_path / "p.csv")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("grading_eval", train=tmp_path / "absent.csv", test=test, out=tmp_path / "p.csv")
    assert not (tmp_path / "p.csv").exists()
