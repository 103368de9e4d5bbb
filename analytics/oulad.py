"""The Open University Learning Analytics Dataset (OULAD) as at-risk enrolments, and its protocol.

Reads studentInfo.csv, studentRegistration.csv, assessments.csv and studentAssessment.csv from one
directory (the OULAD column names). Protocol: Fail vs Pass (Distinction counts as a pass;
Withdrawn is not predicted), train on the 2013J presentations, test on 2014J, AUC per cutoff day.
A missing file, column or malformed value raises ``OuladError`` naming the file and line.
"""

import csv
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

from .at_risk import Assessment, AssessmentResult, Enrolment, at_risk_fit, features_at_cutoff

TRAIN_PRESENTATION = "2013J"
TEST_PRESENTATION = "2014J"
OUTCOMES = {"Pass": False, "Distinction": False, "Fail": True}
PROFILE_COLUMNS = ("gender", "region", "highest_education", "imd_band", "age_band", "disability")


class OuladError(ValueError):
    pass


def _rows(directory: Path, name: str, columns: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    path = directory / name
    if not path.is_file():
        raise OuladError(f"{path}: no such file")
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file)
        missing = set(columns) - set(reader.fieldnames or [])
        if missing:
            raise OuladError(f"{path}, line 1: missing columns {', '.join(sorted(missing))}")
        for row in reader:
            if None in row or any(value is None for value in row.values()):
                raise OuladError(f"{path}, line {reader.line_num}: wrong number of columns")
            yield reader.line_num, row


def _number(directory: Path, name: str, line: int, value: str, *, optional: bool = False) -> float:
    if value.strip() == "" and optional:
        return math.nan
    try:
        return float(value)
    except ValueError as error:
        raise OuladError(f"{directory / name}, line {line}: {value!r} is not a number") from error


def _course(row: dict[str, str]) -> str:
    return f"{row['code_module']}/{row['code_presentation']}"


def assessments_read(directory: Path) -> list[Assessment]:
    name = "assessments.csv"
    columns = ("code_module", "code_presentation", "id_assessment", "assessment_type", "date", "weight")
    assessments = []
    for line, row in _rows(directory, name, columns):
        due = _number(directory, name, line, row["date"], optional=True)
        assessments.append(
            Assessment(
                course=_course(row),
                assessment_id=row["id_assessment"],
                kind=row["assessment_type"],
                due_day=None if math.isnan(due) else due,
                weight=_number(directory, name, line, row["weight"]),
            )
        )
    return assessments


def _enrolments_read(directory: Path) -> dict[tuple[str, str], Enrolment]:
    name = "studentInfo.csv"
    columns: tuple[str, ...] = ("code_module", "code_presentation", "id_student", *PROFILE_COLUMNS)
    columns += ("num_of_prev_attempts", "studied_credits", "final_result")
    enrolments = {}
    for line, row in _rows(directory, name, columns):
        enrolments[(row["id_student"], _course(row))] = Enrolment(
            course=_course(row),
            student=row["id_student"],
            profile={column: row[column] for column in PROFILE_COLUMNS},
            numbers={
                "previous_attempts": _number(directory, name, line, row["num_of_prev_attempts"]),
                "studied_credits": _number(directory, name, line, row["studied_credits"]),
                "registration_day": math.nan,
            },
            failed=OUTCOMES.get(row["final_result"]),
        )
    return enrolments


def _registrations_add(directory: Path, enrolments: dict[tuple[str, str], Enrolment]) -> None:
    name = "studentRegistration.csv"
    for line, row in _rows(
        directory, name, ("code_module", "code_presentation", "id_student", "date_registration")
    ):
        enrolment = enrolments.get((row["id_student"], _course(row)))
        if enrolment is not None:
            day = _number(directory, name, line, row["date_registration"], optional=True)
            enrolment.numbers["registration_day"] = day


def _results_add(
    directory: Path, enrolments: dict[tuple[str, str], Enrolment], assessments: list[Assessment]
) -> None:
    name = "studentAssessment.csv"
    course_of = {assessment.assessment_id: assessment.course for assessment in assessments}
    columns = ("id_assessment", "id_student", "date_submitted", "score")
    for line, row in _rows(directory, name, columns):
        if row["id_assessment"] not in course_of:
            raise OuladError(f"{directory / name}, line {line}: unknown assessment {row['id_assessment']}")
        enrolment = enrolments.get((row["id_student"], course_of[row["id_assessment"]]))
        if enrolment is None:
            continue
        score = _number(directory, name, line, row["score"], optional=True)
        enrolment.results.append(
            AssessmentResult(
                assessment_id=row["id_assessment"],
                submitted_day=_number(directory, name, line, row["date_submitted"]),
                score=None if math.isnan(score) else score,
            )
        )


@dataclass(frozen=True)
class Oulad:
    enrolments: list[Enrolment]
    assessments: list[Assessment]


def oulad_read(directory: Path) -> Oulad:
    assessments = assessments_read(directory)
    enrolments = _enrolments_read(directory)
    _registrations_add(directory, enrolments)
    _results_add(directory, enrolments, assessments)
    return Oulad(list(enrolments.values()), assessments)


@dataclass(frozen=True)
class CutoffScore:
    cutoff: int
    auc: float
    train: int
    test: int


def _labelled(data: Oulad, presentation: str) -> list[Enrolment]:
    return [e for e in data.enrolments if e.failed is not None and e.course.endswith("/" + presentation)]


def oulad_evaluate(data: Oulad, cutoffs: Sequence[int]) -> list[CutoffScore]:
    """Fit on the 2013J enrolments and score the 2014J ones, separately at each cutoff day."""
    train, test = _labelled(data, TRAIN_PRESENTATION), _labelled(data, TEST_PRESENTATION)
    if not train or not test:
        raise OuladError(f"need labelled enrolments of both {TRAIN_PRESENTATION} and {TEST_PRESENTATION}")
    scores = []
    for cutoff in cutoffs:
        model = at_risk_fit(
            features_at_cutoff(train, data.assessments, cutoff), [bool(e.failed) for e in train]
        )
        risks = model.risks(features_at_cutoff(test, data.assessments, cutoff))
        auc = float(roc_auc_score([bool(e.failed) for e in test], risks))
        scores.append(CutoffScore(cutoff, auc, len(train), len(test)))
    return scores
