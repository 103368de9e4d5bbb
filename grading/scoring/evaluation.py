"""The grading evaluation (``manage.py grading_eval``, ``bench/grading_benchmarks.py``): reads a
train and a test CSV, scores the test answers with the product's scorers and measures agreement.

CSV columns: ``prompt_id,item_id,question,reference_answer,rubric,answer,score,min_score,max_score``.
``reference_answer`` is one answer or a JSON list of answers; ``rubric`` is empty or a JSON list
of criteria; ``score`` may be empty in the test file. A test prompt with at least
``MIN_TRAINING_ITEMS`` graded training answers gets a per-assignment scorer trained on them (one
model per prompt); any other prompt is scored by the cold-start model. Predictions of prompts
whose range and training scores are integers are rounded to the nearest valid integer.
"""

import csv
import json
import math
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .assignment import MIN_TRAINING_ITEMS, assignment_scorer_train
from .cold_start import cold_start_scorer
from .metrics import pearson, quadratic_weighted_kappa
from .types import GradingItem, Scorer, ScoringError

COLUMNS = (
    "prompt_id",
    "item_id",
    "question",
    "reference_answer",
    "rubric",
    "answer",
    "score",
    "min_score",
    "max_score",
)
OUTPUT_COLUMNS = ("item_id", "prompt_id", "predicted_score", "confidence")


class EvaluationError(ValueError):
    """A CSV file the evaluation cannot use; the message names the file, row and column."""


@dataclass(frozen=True)
class Row:
    item: GradingItem
    score: float | None


@dataclass
class PromptResult:
    prompt_id: str
    model: str
    count: int
    qwk: float
    confident_qwk: float


@dataclass
class EvaluationResult:
    prompts: list[PromptResult] = field(default_factory=list)
    pearson: float = float("nan")
    items: int = 0
    seconds: float = 0.0
    predictions: dict[str, tuple[float, float]] = field(
        default_factory=dict
    )  # item_id -> (score, confidence)

    @property
    def mean_qwk(self) -> float:
        values = [p.qwk for p in self.prompts if not math.isnan(p.qwk)]
        return float(np.mean(values)) if values else float("nan")

    @property
    def mean_confident_qwk(self) -> float:
        values = [p.confident_qwk for p in self.prompts if not math.isnan(p.confident_qwk)]
        return float(np.mean(values)) if values else float("nan")


def _number(value: str, *, path: Path, line: int, column: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise EvaluationError(f"{path}, line {line}: {column} {value!r} is not a number.") from None
    if not math.isfinite(number):
        raise EvaluationError(f"{path}, line {line}: {column} {value!r} is not a finite number.")
    return number


def _references(value: str) -> tuple[str, ...]:
    text = value.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, list):
            return tuple(str(entry) for entry in parsed if str(entry).strip())
    return (text,) if text else ()


def csv_read(path: Path, *, require_scores: bool) -> list[Row]:
    """The rows of an evaluation CSV; ``EvaluationError`` names the first bad line."""
    csv.field_size_limit(sys.maxsize)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as error:
        raise EvaluationError(f"Cannot read {path}: {error.strerror}.") from error
    rows: list[Row] = []
    with handle:
        try:
            reader = csv.DictReader(handle)
            missing = [column for column in COLUMNS if column not in (reader.fieldnames or [])]
            if reader.fieldnames is None:
                return []
            if missing:
                raise EvaluationError(f"{path}: missing column(s) {', '.join(missing)}.")
            for line, record in enumerate(reader, start=2):
                rubric: object = []
                if (record["rubric"] or "").strip():
                    try:
                        rubric = json.loads(record["rubric"])
                    except json.JSONDecodeError:
                        raise EvaluationError(f"{path}, line {line}: rubric is not JSON.") from None
                if not isinstance(rubric, list) or not all(isinstance(c, dict) for c in rubric):
                    raise EvaluationError(f"{path}, line {line}: rubric must be a JSON list of objects.")
                low = _number(record["min_score"], path=path, line=line, column="min_score")
                high = _number(record["max_score"], path=path, line=line, column="max_score")
                if not high > low:
                    raise EvaluationError(f"{path}, line {line}: max_score must be above min_score.")
                score: float | None = None
                if (record["score"] or "").strip():
                    score = _number(record["score"], path=path, line=line, column="score")
                    if not low <= score <= high:
                        raise EvaluationError(
                            f"{path}, line {line}: score {score} is outside [{low}, {high}]."
                        )
                elif require_scores:
                    raise EvaluationError(f"{path}, line {line}: score is empty (training rows need one).")
                item = GradingItem(
                    prompt_id=record["prompt_id"],
                    item_id=record["item_id"] or f"{path.name}:{line}",
                    question=record["question"] or "",
                    reference_answers=_references(record["reference_answer"] or ""),
                    rubric=tuple(rubric),
                    answer=record["answer"] or "",
                    min_score=low,
                    max_score=high,
                )
                rows.append(Row(item=item, score=score))
        except UnicodeDecodeError as error:
            raise EvaluationError(f"{path} is not UTF-8 text ({error.reason}).") from error
        except csv.Error as error:
            raise EvaluationError(f"{path}: not a readable CSV file ({error}).") from error
    return rows


def _is_integer_prompt(rows: Sequence[Row]) -> bool:
    return all(
        float(row.item.min_score).is_integer()
        and float(row.item.max_score).is_integer()
        and (row.score is None or float(row.score).is_integer())
        for row in rows
    )


def _prompt_qwk(truth: list[float], predicted: list[float], low: float, high: float) -> float:
    if len(truth) < 2:
        return float("nan")
    return quadratic_weighted_kappa(
        np.round(truth).astype(int),
        np.round(predicted).astype(int),
        low=round(low),
        high=round(high),
    )


def evaluate(
    train: Sequence[Row],
    test: Sequence[Row],
    *,
    log: Callable[[str], None] = lambda message: None,
    trainer: Callable[[Sequence[GradingItem], Sequence[float]], Scorer] = assignment_scorer_train,
    trainer_name: str = "assignment",
) -> EvaluationResult:
    """Score ``test`` with the scorer each of its prompts gets from ``train`` (``trainer``, by
    default the per-assignment scorer), and measure it."""
    started = time.perf_counter()
    training: dict[str, list[Row]] = defaultdict(list)
    for row in train:
        training[row.item.prompt_id].append(row)
    testing: dict[str, list[Row]] = defaultdict(list)
    for row in test:
        testing[row.item.prompt_id].append(row)
    result = EvaluationResult(items=len(test))
    all_truth: list[float] = []
    all_predicted: list[float] = []
    cold = None
    for prompt_id, rows in testing.items():
        graded = [row for row in training.get(prompt_id, []) if row.score is not None]
        items = [row.item for row in rows]
        if len(graded) >= MIN_TRAINING_ITEMS:
            scorer: Scorer = trainer([row.item for row in graded], [float(row.score or 0) for row in graded])
            model = trainer_name
        else:
            cold = cold or cold_start_scorer()
            scorer, model = cold, "cold_start"
        predictions = scorer.predict(items)
        integer = _is_integer_prompt([*graded, *rows])
        truth, predicted, confidence = [], [], []
        for row, prediction in zip(rows, predictions, strict=True):
            score = row.item.clip(prediction.score)
            if integer:
                score = float(row.item.clip(round(score)))
            result.predictions[row.item.item_id] = (score, prediction.confidence)
            if row.score is not None:
                truth.append(row.score)
                predicted.append(score)
                confidence.append(prediction.confidence)
        low, high = rows[0].item.min_score, rows[0].item.max_score
        qwk = _prompt_qwk(truth, predicted, low, high)
        order = np.argsort(-np.asarray(confidence), kind="stable")[: (len(truth) + 1) // 2]
        confident_qwk = _prompt_qwk([truth[i] for i in order], [predicted[i] for i in order], low, high)
        result.prompts.append(PromptResult(prompt_id, model, len(rows), qwk, confident_qwk))
        all_truth.extend(truth)
        all_predicted.extend(predicted)
        log(
            f"prompt {prompt_id}: {len(rows)} answers, {model} model, QWK {qwk:.4f}, "
            f"most-confident-50% QWK {confident_qwk:.4f}"
        )
    result.pearson = pearson(all_truth, all_predicted)
    result.seconds = time.perf_counter() - started
    return result


def predictions_write(path: Path, test: Sequence[Row], result: EvaluationResult) -> None:
    partial = path.with_name(path.name + ".part")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        for row in test:
            score, confidence = result.predictions[row.item.item_id]
            writer.writerow([row.item.item_id, row.item.prompt_id, f"{score:g}", f"{confidence:.4f}"])
    partial.replace(path)


def evaluation_run(
    train_path: Path, test_path: Path, out_path: Path, *, log: Callable[[str], None] = print
) -> EvaluationResult:
    train = csv_read(train_path, require_scores=True)
    test = csv_read(test_path, require_scores=False)
    if not test:
        raise EvaluationError(f"{test_path} has no rows to score.")
    try:
        result = evaluate(train, test, log=log)
    except ScoringError as error:
        raise EvaluationError(str(error)) from error
    predictions_write(out_path, test, result)
    log(
        f"mean QWK {result.mean_qwk:.4f} over {len(result.prompts)} prompt(s); "
        f"Pearson r {result.pearson:.4f}; most-confident-50% QWK {result.mean_confident_qwk:.4f}; "
        f"{result.items} answers in {result.seconds:.1f} s"
    )
    return result
