"""``--full-finetune``: fine-tuning the runtime's encoder per prompt runs end to end on a CPU."""

import importlib.util
import itertools

import pytest

from grading.scoring import scorer_load
from grading.scoring.finetune import FinetunedScorer, finetune_scorer_train
from tests.conftest import PROJECT_ROOT
from tests.grading.scoring.fixtures import concept_answers, item

pytestmark = pytest.mark.django_db


def test_fine_tuning_moves_predictions_towards_the_grades_and_round_trips(tmp_path):
    rows = concept_answers()[::3]
    items = [item(answer, max_score=3) for answer, _ in rows]
    scores = [float(score) for _, score in rows]
    scorer = finetune_scorer_train(items, scores, epochs=3, batch_size=8, max_length=48, learning_rate=1e-4)
    fractions = scorer.fractions(items)
    assert fractions.std() > 0.01  # the head learnt something beyond the mean
    best = [f for f, s in zip(fractions, scores, strict=True) if s == 3]
    worst = [f for f, s in zip(fractions, scores, strict=True) if s == 0]
    assert sum(best) / len(best) > sum(worst) / len(worst)
    predictions = scorer.predict(items)
    assert all(0 <= p.score <= 3 and 0 <= p.confidence <= 1 for p in predictions)

    scorer.save(tmp_path / "tuned")
    loaded = scorer_load(tmp_path / "tuned")
    assert isinstance(loaded, FinetunedScorer)
    assert loaded.fractions(items) == pytest.approx(fractions, abs=1e-4)


def _bench():
    spec = importlib.util.spec_from_file_location(
        "grading_benchmarks", PROJECT_ROOT / "bench" / "grading_benchmarks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmarks_full_finetune_runs_on_an_asap_shaped_fixture(tmp_path, monkeypatch, capsys):
    data = tmp_path / "asap_aes"
    (data / "folds" / "fold_0").mkdir(parents=True)
    header = [
        "essay_id",
        "essay_set",
        "essay",
        "rater1_domain1",
        "rater2_domain1",
        "rater3_domain1",
        "domain1_score",
    ]
    lines = ["\t".join(header)]
    ids = itertools.count(1)
    for answer, score in concept_answers()[:24]:
        # An unbalanced quote, as in the real file: the reader must not treat it as CSV quoting.
        lines.append("\t".join([str(next(ids)), "3", f'"{answer}', str(score), str(score), "", str(score)]))
    (data / "training_set_rel3.utf8.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "folds" / "fold_0" / "train_ids.txt").write_text("\n".join(str(i) for i in range(1, 17)))
    (data / "folds" / "fold_0" / "test_ids.txt").write_text("\n".join(str(i) for i in range(17, 25)))
    bench = _bench()
    monkeypatch.setattr(bench, "WORK", tmp_path / "work")
    bench.asap_benchmark(data, [0], None, finetune=True, limit=16, epochs=1)
    printed = capsys.readouterr().out
    assert "fine-tuned encoder model" in printed
    assert "| QWK |" in printed
    assert "most-confident 50% QWK" in printed
    assert (tmp_path / "work" / "asap" / "fold_0" / "test.csv").read_text().count("\n") == 9
